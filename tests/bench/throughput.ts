/**
 * `deno task bench:throughput`: requests per second through the cluster IP with 1, 2 and 3
 * hosts (a fresh farm each, affinity none) against a CPU-bound web backend, every request
 * on a new connection; and what the bucket filter costs: the same host's own address (not
 * filtered) against the cluster IP, alternated, with that backend and with one that costs
 * nothing (where the filter's share of the work is largest). Needs root (namespaces).
 * Prints one JSON object on stdout; progress on stderr. Targets are reported, not asserted.
 */
import { createFarm } from "./_fo_lab.ts";
import { type LoadOptions, measure, startLightBackend } from "./_tp_measure.ts";
import type { LoadResult } from "./_tp_load.ts";
import { median, progress, round } from "./_stats.ts";
import type { NetnsLab } from "../../agent/lab/netns_lab.ts";
import { benchHeader, benchOptions } from "./_cli.ts";

const HELP = `Usage: deno task bench:throughput [--quick] [--cpu-ms N] [--concurrency K]
         [--seconds S] [--reps R] [--verbose]

Requests/s through the cluster IP with 1, 2 and 3 hosts (network namespaces, real agents;
needs root), each request a new TCP connection, against web backends that burn N ms of CPU
per request; and the filter's overhead (a host's own address against the cluster IP).
Prints one JSON object on stdout; progress on stderr. About 3 minutes with the defaults.

Options:
  --cpu-ms N        CPU per request in each backend, 1..100 (default 10)
  --concurrency K   requests kept in flight by the client, 1..500 (default 24)
  --seconds S       measured seconds per run, after 1 s of warm-up, 1..60 (default 5)
  --reps R          runs per measurement, alternated where compared, 1..10 (default 3)
  --quick           --seconds 2 --reps 1 (about 1 minute)
  --verbose         the labs' own progress on stderr
  --help            this text`;

const TARGETS = { ratio_2_to_1: 1.8, overhead_pct: 5 };
/** Not 8080: the agents' panel listens there by default. */
const LIGHT_PORT = 8088;

interface Options {
  cpuMs: number;
  concurrency: number;
  seconds: number;
  reps: number;
  quick: boolean;
  verbose: boolean;
}

function parse(args: string[]): Options | undefined {
  const o: Partial<Options> = { quick: false, verbose: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const num = (key: "cpuMs" | "concurrency" | "seconds" | "reps", lo: number, hi: number) => {
      const v = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
      const n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) {
        throw new Error(`${a.split("=")[0]} must be a whole number from ${lo} to ${hi}`);
      }
      o[key] = n;
    };
    const flag = a.split("=")[0];
    if (a === "--help" || a === "-h") return undefined;
    else if (a === "--quick") o.quick = true;
    else if (a === "--verbose") o.verbose = true;
    else if (flag === "--cpu-ms") num("cpuMs", 1, 100);
    else if (flag === "--concurrency") num("concurrency", 1, 500);
    else if (flag === "--seconds") num("seconds", 1, 60);
    else if (flag === "--reps") num("reps", 1, 10);
    else throw new Error(`unknown option "${a}" (see: --help)`);
  }
  return {
    cpuMs: o.cpuMs ?? 10,
    concurrency: o.concurrency ?? 24,
    seconds: o.seconds ?? (o.quick ? 2 : 5),
    reps: o.reps ?? (o.quick ? 1 : 3),
    quick: o.quick!,
    verbose: o.verbose!,
  };
}

/** A farm of `hosts`, handed to fn, destroyed afterwards whatever happens. */
async function withFarm<T>(
  hosts: number,
  o: Options,
  fn: (lab: NetnsLab) => Promise<T>,
): Promise<T> {
  const log = o.verbose ? (l: string) => progress(`  ${l}`) : undefined;
  const lab = await createFarm({ hosts, backendCpuMs: o.cpuMs, log });
  const offSignal = lab.destroyOnSignal(); // Ctrl-C: remove the lab, then exit
  try {
    return await fn(lab);
  } finally {
    offSignal();
    await lab.destroy();
  }
}

/** Runs each target `reps` times, alternating their order; results per target. */
async function compare(
  lab: NetnsLab,
  targets: string[],
  reps: number,
  load: LoadOptions,
): Promise<LoadResult[][]> {
  const out: LoadResult[][] = targets.map(() => []);
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? targets.keys() : [...targets.keys()].reverse();
    for (const i of order) {
      const r = await measure(lab, targets[i], load);
      out[i].push(r);
      progress(
        `  ${targets[i]}: ${r.rps} req/s, failed ${r.failed}, p50 ${r.latencyMs.p50} ms, ` +
          `client ${r.cpu.client} cores, machine ${r.cpu.machine} cores`,
      );
    }
  }
  return out;
}

async function main(args: string[]): Promise<number> {
  const o = benchOptions("bench:throughput", args, parse, HELP, true);
  if (typeof o === "number") return o;
  const opts = o;
  const started = performance.now();
  const load = { concurrency: o.concurrency, warmupMs: 1000, durationMs: o.seconds * 1000 };
  // Some 10k new connections/s: each leaves a conntrack entry in TIME_WAIT for 120 s on
  // the host, and a full table (nf_conntrack_max) drops new flows. Short runs stay below.
  const lightLoad = { ...load, warmupMs: 500, durationMs: Math.min(o.seconds, 2) * 1000 };
  const head = {
    ...await benchHeader("throughput", o.quick, { busyCores: true }),
    setup: {
      backend_cpu_ms: o.cpuMs,
      concurrency: o.concurrency,
      warmup_s: 1,
      seconds: o.seconds,
      reps: o.reps,
      clients: 1,
      new_connection_per_request: true,
      affinity: "none",
    },
  };

  progress("1 host: own address against the cluster IP");
  const one = await withFarm(1, o, async (lab) => {
    const own = lab.hosts[0].address, ip = lab.clusterIp;
    const heavy = await compare(lab, [`${own}:80`, `${ip}:80`], opts.reps, load);
    await startLightBackend(lab, lab.hosts[0], LIGHT_PORT);
    progress(`1 host, backend without CPU cost (:${LIGHT_PORT})`);
    const light = await compare(
      lab,
      [`${own}:${LIGHT_PORT}`, `${ip}:${LIGHT_PORT}`],
      opts.reps,
      lightLoad,
    );
    const conntrack = await lab.exec(lab.hosts[0], [
      "cat",
      "/proc/sys/net/netfilter/nf_conntrack_count",
      "/proc/sys/net/netfilter/nf_conntrack_max",
    ]);
    const [count, max] = conntrack.trim().split("\n").map(Number);
    return { heavy, light, conntrack: { count, max } };
  });
  const byHosts: Record<string, LoadResult[]> = { "1": one.heavy[1] };
  for (const hosts of [2, 3]) {
    progress(`${hosts} hosts`);
    byHosts[String(hosts)] = await withFarm(hosts, o, async (lab) => {
      return (await compare(lab, [`${lab.clusterIp}:80`], opts.reps, load))[0];
    });
  }

  const rps = (rs: LoadResult[]) => round(median(rs.map((r) => r.rps)), 1);
  const perHosts = Object.fromEntries(
    Object.entries(byHosts).map(([n, rs]) => [n, rps(rs)]),
  );
  const ratio = (n: string) => perHosts[n] && perHosts["1"] ? perHosts[n] / perHosts["1"] : null;
  const overhead = (pair: LoadResult[][]) => {
    const own = rps(pair[0]), cluster = rps(pair[1]);
    return {
      own_address_rps: own,
      cluster_ip_rps: cluster,
      overhead_pct: own > 0 ? round((own - cluster) / own * 100, 1) : null,
      client_cores: { own: cpu(pair[0], "client"), cluster: cpu(pair[1], "client") },
      machine_cores: { own: cpu(pair[0], "machine"), cluster: cpu(pair[1], "machine") },
      raw: { own: pair[0].map((r) => r.rps), cluster: pair[1].map((r) => r.rps) },
    };
  };
  const heavyOverhead = overhead(one.heavy);
  const r2 = ratio("2");
  const out = {
    ...head,
    rps: perHosts,
    scaling: {
      ratio_2_to_1: r2 === null ? null : round(r2, 2),
      ratio_3_to_1: ratio("3") === null ? null : round(ratio("3")!, 2),
      // With 2 cores the backends alone can use at most 2: 3 hosts cannot reach 3x.
      ceiling_on_this_machine: round(Math.min(3, navigator.hardwareConcurrency), 0),
    },
    overhead: {
      [`backend_cpu_ms_${o.cpuMs}`]: heavyOverhead,
      backend_cpu_ms_0: {
        ...overhead(one.light),
        seconds: lightLoad.durationMs / 1000,
        conntrack_entries_after: one.conntrack,
      },
    },
    cpu_cores_median: Object.fromEntries(
      Object.entries(byHosts).map(([n, rs]) => [n, cpuBreakdown(rs)]),
    ),
    runs: Object.fromEntries(
      Object.entries(byHosts).map(([n, rs]) => [n, rs.map(compact)]),
    ),
    targets: TARGETS,
    within_target: {
      ratio_2_to_1: r2 !== null && r2 >= TARGETS.ratio_2_to_1,
      overhead_pct: heavyOverhead.overhead_pct !== null &&
        heavyOverhead.overhead_pct <= TARGETS.overhead_pct,
    },
    elapsed_s: round((performance.now() - started) / 1000, 1),
  };
  console.log(JSON.stringify(out, null, 2));
  return 0;
}

function cpu(rs: LoadResult[], what: "client" | "machine"): number {
  return round(median(rs.map((r) => r.cpu[what])), 2);
}

/** Where the CPU went (cores, medians over runs): client, backends, agents, whole machine. */
function cpuBreakdown(rs: LoadResult[]) {
  const sum = (r: LoadResult, suffix: string) =>
    Object.entries(r.cpu.watched).filter(([k]) => k.endsWith(suffix))
      .reduce((a, [, v]) => a + v, 0);
  const client = cpu(rs, "client"), machine = cpu(rs, "machine");
  const backends = round(median(rs.map((r) => sum(r, "_backend"))), 2);
  const agents = round(median(rs.map((r) => sum(r, "_agent"))), 2);
  return {
    client,
    backends,
    agents,
    machine,
    // Kernel work (softirq, not charged to a process) and anything else running here.
    rest: round(machine - client - backends - agents, 2),
    client_share_of_busy: machine > 0 ? round(client / machine, 2) : null,
  };
}

function compact(r: LoadResult) {
  return {
    rps: r.rps,
    failed: r.failed,
    ...(r.failed ? { errors: r.errors } : {}),
    latency_ms: r.latencyMs,
    served: r.served,
    cpu: r.cpu,
  };
}

if (import.meta.main) Deno.exit(await main(Deno.args));
