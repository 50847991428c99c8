/**
 * One failover run: a fresh 3-host farm, the owner sampler and the client traffic started,
 * the scenario's fault at `beforeMs` into the traffic, the traffic left to run `afterMs`
 * more, then the verdict (analyze) and the lab destroyed, whatever happened.
 */
import type { NetnsLab } from "../../agent/lab/netns_lab.ts";
import { startTraffic, type TrafficResult } from "../../agent/lab/traffic.ts";
import { analyze, type RunMetrics } from "./_fo_analyze.ts";
import { clientNeighbour, createFarm, newClientProbe } from "./_fo_lab.ts";
import { nftCounters } from "../../agent/lab/nft_counters.ts";
import type { OwnerRound } from "./_fo_owner_sampler.ts";
import type { Scenario } from "./_fo_scenarios.ts";
import { progress, sleep } from "./_stats.ts";

const SAMPLER = new URL("./_fo_owner_sampler.ts", import.meta.url).pathname;
const RATE_MS = 10;
const TIMEOUT_MS = 1000;
const SAMPLE_MS = 20;

export interface RunOptions {
  beforeMs: number;
  afterMs: number;
  verbose: boolean;
}

export interface RunReport {
  metrics: RunMetrics;
  facts: Record<string, unknown>;
  /** Per host, nftables packet counters at the end (counted since the affinity change). */
  nft: Record<string, Record<string, number>>;
  /** Whose MAC the measuring client sent to at the end (clientNeighbour). */
  neighbourAtEnd: string;
  /** After the measurement, a client resolving the cluster IP afresh (fault still on). */
  newClient: Awaited<ReturnType<typeof newClientProbe>>;
}

export async function runOnce(s: Scenario, o: RunOptions): Promise<RunReport> {
  const log = o.verbose ? (l: string) => progress(`  ${l}`) : undefined;
  const lab = await createFarm({ hosts: 3, settings: s.settings, log });
  const offSignal = lab.destroyOnSignal(); // Ctrl-C: remove the lab, then exit
  let sampler: Sampler | undefined;
  try {
    const h = lab.hosts[2];
    const facts = await s.prepare?.(lab, h) ?? {};
    const durationMs = o.beforeMs + o.afterMs;
    sampler = startSampler(lab, durationMs + 5_000);
    await sampler.ready;
    const traffic = startTraffic(lab, lab.clients[0], {
      rateMs: RATE_MS,
      timeoutMs: TIMEOUT_MS,
      durationMs,
      count: Math.ceil(durationMs / RATE_MS) + 100,
    });
    const t0 = await traffic.started;
    await sleep(Math.max(0, t0 + o.beforeMs - Date.now()));
    const faultWall = Date.now();
    await s.fault(lab, h);
    const faultDoneWall = Date.now();
    const results: TrafficResult[] = await traffic.done;
    const rounds = (await sampler.stop()).map((r) => ({ ...r, t0: r.t0 - t0, t1: r.t1 - t0 }));
    const nft: Record<string, Record<string, number>> = {};
    for (const x of lab.hosts) nft[x.name] = await nftCounters(lab, x);
    const neighbourAtEnd = await clientNeighbour(lab, lab.clients[0]);
    const newClient = await newClientProbe(lab, lab.clients[0]);
    await s.restore?.(lab, h);
    const metrics = analyze({
      results,
      rateMs: RATE_MS,
      faultT: faultWall - t0,
      faultDoneT: faultDoneWall - t0,
      durationMs,
      rounds,
      hostNames: lab.hosts.map((x) => x.name),
      faulted: 2,
      isolates: s.isolates ?? false,
    });
    return { metrics, facts, nft, neighbourAtEnd, newClient };
  } finally {
    await sampler?.stop().catch(() => {});
    offSignal();
    await lab.destroy();
  }
}

interface Sampler {
  ready: Promise<void>;
  stop(): Promise<OwnerRound[]>;
}

/** The owner sampler in the root namespace, listing every host's set (bounded in time). */
function startSampler(lab: NetnsLab, durationMs: number): Sampler {
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "-A", SAMPLER, "--set", "owned_default", "--buckets", "1024"],
      ...["--period-ms", String(SAMPLE_MS), "--duration-ms", String(durationMs)],
      ...["--count", String(Math.ceil(durationMs / SAMPLE_MS) + 10)],
      ...lab.hosts.map((h) => h.ns),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const rounds: OwnerRound[] = [];
  let markReady = () => {};
  const ready = new Promise<void>((res) => markReady = res);
  const done = (async () => {
    const stderr = new Response(proc.stderr).text();
    let buffered = "";
    const dec = new TextDecoder();
    for await (const chunk of proc.stdout) {
      buffered += dec.decode(chunk, { stream: true });
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const v = JSON.parse(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
        if ("ready" in v) markReady();
        else rounds.push(v);
      }
    }
    const status = await proc.status;
    if (!status.success && status.signal === null) {
      throw new Error(`owner sampler failed (exit ${status.code}): ${(await stderr).trim()}`);
    }
    return rounds;
  })();
  done.catch(() => {}); // reported through ready or stop()
  // ready fails with the sampler when it dies first.
  const readyOrDied = Promise.race([
    ready,
    done.then(() => {
      throw new Error("owner sampler ended before it was ready");
    }),
  ]);
  const hardStop = setTimeout(() => kill("SIGKILL"), durationMs + 10_000);
  function kill(signal: Deno.Signal) {
    try {
      proc.kill(signal);
    } catch { /* gone */ }
  }
  return {
    ready: readyOrDied,
    async stop() {
      kill("SIGTERM");
      try {
        return await done;
      } finally {
        clearTimeout(hardStop);
      }
    },
  };
}
