/**
 * `deno task sim`: runs the cluster scenarios in virtual time and prints their metrics.
 *
 *   deno task sim                         every scenario at 3 and 32 hosts, as a table
 *   deno task sim --json                  the same as a JSON array
 *   deno task sim --scenario crash --hosts 3,8,32 --seed 7 --runs 5
 *
 * Runs are spread over worker threads (one per core); each run is a pure function of
 * (scenario, hosts, seed), so the output does not depend on the number of workers.
 */
import { parseArgs } from "node:util";
import { MAX_HOSTS } from "../cluster/config.ts";
import type { Job, JobResult } from "./_worker.ts";
import { fold, type Row, table } from "./report.ts";
import { isScenario, type Metrics, type ScenarioName, SCENARIOS } from "./scenarios.ts";

const USAGE = `usage: deno task sim [--json] [--hosts 3,32] [--scenario NAME[,NAME]] [--seed N]
                     [--runs N] [--jobs N]

  --json            print a JSON array of {scenario, hosts, detect_ms, converge_ms,
                    buckets_moved, false_suspicions, duplicate_owner_ms} (with --runs > 1
                    each row also has "runs" and "max")
  --hosts LIST      cluster sizes, 3..${MAX_HOSTS} (default 3,32)
  --scenario LIST   some of: ${SCENARIOS.join(", ")} (default all)
  --seed N          first seed, 0..4294967295 (default 1)
  --runs N          runs per scenario and size, seeds seed..seed+N-1; report the median and
                    the max of each metric (default 1)
  --minutes M       simulated minutes of loss5, 1..60 (default 10)
  --jobs N          worker threads (default: the number of cores)
  --help            this text

Times are virtual milliseconds. loss5 at 32 hosts delivers ~20,000 heartbeats per simulated
second, each through the core's step(): its 10 minutes take several minutes of wall time.`;

interface Options {
  json: boolean;
  hosts: number[];
  scenarios: ScenarioName[];
  seed: number;
  runs: number;
  minutes: number;
  jobs: number;
}

class UsageError extends Error {}

export function parseOptions(args: string[], cores: number): Options | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        json: { type: "boolean" },
        hosts: { type: "string" },
        scenario: { type: "string" },
        seed: { type: "string" },
        runs: { type: "string" },
        minutes: { type: "string" },
        jobs: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return "help";
  const scenarios = list(v.scenario, "--scenario", SCENARIOS.join(",")).map((s) => {
    if (!isScenario(s)) {
      throw new UsageError(`--scenario: unknown scenario "${s}" (one of ${SCENARIOS.join(", ")})`);
    }
    return s;
  });
  const hosts = list(v.hosts, "--hosts", "3,32").map((h) => int(h, "--hosts", 3, MAX_HOSTS));
  return {
    json: !!v.json,
    hosts: [...new Set(hosts)],
    scenarios: [...new Set(scenarios)],
    seed: v.seed === undefined ? 1 : int(v.seed, "--seed", 0, 0xffff_ffff),
    runs: v.runs === undefined ? 1 : int(v.runs, "--runs", 1, 1000),
    minutes: v.minutes === undefined ? 10 : int(v.minutes, "--minutes", 1, 60),
    jobs: v.jobs === undefined ? Math.max(1, cores) : int(v.jobs, "--jobs", 1, 64),
  };
}

function list(value: string | undefined, flag: string, fallback: string): string[] {
  const items = (value ?? fallback).split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) throw new UsageError(`${flag}: empty item in "${value}"`);
  return items;
}

function int(s: string, flag: string, lo: number, hi: number): number {
  const n = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < lo || n > hi) {
    throw new UsageError(`${flag}: "${s}" is not a whole number from ${lo} to ${hi}`);
  }
  return n;
}

/** Runs every job on a pool of workers; results come back in job order. */
async function runAll(
  jobs: Job[],
  workers: number,
  progress: (done: number, j: Job, r: JobResult, ms: number) => void,
) {
  const results: Metrics[] = new Array(jobs.length);
  const queue = [...jobs];
  let done = 0;
  const worker = async () => {
    const w = new Worker(new URL("./_worker.ts", import.meta.url), { type: "module" });
    try {
      for (let job = queue.shift(); job; job = queue.shift()) {
        const t0 = performance.now();
        const r = await new Promise<JobResult>((resolve, reject) => {
          w.onmessage = (e: MessageEvent<JobResult>) => resolve(e.data);
          w.onerror = (e) => {
            e.preventDefault();
            reject(new Error(e.message));
          };
          w.postMessage(job);
        });
        progress(++done, job, r, performance.now() - t0);
        if (!r.ok) {
          throw new Error(`${job.scenario} at ${job.hosts} hosts, seed ${job.seed}: ${r.error}`);
        }
        results[r.id] = r.metrics;
      }
    } finally {
      w.terminate();
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, jobs.length) }, worker));
  return results;
}

async function main(args: string[]): Promise<number> {
  let opts;
  try {
    opts = parseOptions(args, navigator.hardwareConcurrency ?? 1);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`sim: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === "help") {
    console.log(USAGE);
    return 0;
  }
  const jobs: Job[] = [];
  for (const scenario of opts.scenarios) {
    for (const hosts of opts.hosts) {
      for (let r = 0; r < opts.runs; r++) {
        const seed = (opts.seed + r) >>> 0;
        jobs.push({ id: jobs.length, scenario, hosts, seed, loss5Ms: opts.minutes * 60_000 });
      }
    }
  }
  // The longest first, so one slow loss5 run does not start last.
  const order = [...jobs].sort((a, b) => cost(b) - cost(a) || a.id - b.id);
  const results = await runAll(order, opts.jobs, (done, job, r, ms) => {
    const what = `${job.scenario} ${job.hosts} hosts seed ${job.seed}`;
    console.error(
      `[${done}/${jobs.length}] ${what}: ${r.ok ? "done" : "FAILED"} in ${
        (ms / 1000).toFixed(1)
      } s`,
    );
  });
  const rows: Row[] = [];
  for (const scenario of opts.scenarios) {
    for (const hosts of opts.hosts) {
      rows.push(fold(results.filter((m) => m.scenario === scenario && m.hosts === hosts)));
    }
  }
  console.log(opts.json ? JSON.stringify(rows, null, 2) : table(rows));
  return 0;
}

/** Rough relative wall cost of a job: heartbeats per simulated second times duration. */
function cost(j: Job): number {
  return j.hosts * j.hosts * (j.scenario === "loss5" ? j.loss5Ms / 1000 : 10);
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    console.error(`sim: ${err instanceof Error ? err.message : String(err)}`);
    Deno.exit(1);
  }
}
