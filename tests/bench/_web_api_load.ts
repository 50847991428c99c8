/**
 * The panel API under load, and what the load does to the cluster: first an idle window,
 * then the same length with _web_load_gen.ts (its own process) keeping N GET /api/status
 * in flight on h1's panel. In both windows h1's heartbeat age as h2 sees it is sampled
 * every 100 ms (h2's control socket), and h1's driver stats (timer lateness) and CPU time
 * are read before and after: serving the panel must not delay h1's heartbeats.
 */
import type { LoopbackCluster } from "../../agent/lab/loopback_cluster.ts";
import { DEFAULT_HEARTBEAT } from "../../agent/cluster/config.ts";
import { type AgentStats, agentStats } from "./_lab.ts";
import type { LoadResult } from "./_web_load_gen.ts";
import { progress, round, sleep, summarize, type Summary } from "./_stats.ts";
import { cpuSeconds } from "./_proc_cpu.ts";

const GENERATOR = new URL("./_web_load_gen.ts", import.meta.url).pathname;
const POLL_MS = 100;

export interface Window {
  seconds: number;
  /** h1's heartbeat age seen by h2, sampled every 100 ms (raw samples left out). */
  heartbeatAgeMs: Omit<Summary, "raw">;
  /** The worst sample minus one heartbeat period: how late h1's latest heartbeat was. */
  worstLateMs: number | null;
  statusPolls: number;
  statusErrors: number;
  /** h1's driver timers in the window: fired, late by more than a period, worst ever. */
  timers: number;
  timersLateOverPeriod: number;
  worstTimerLateMsBefore: number;
  worstTimerLateMsAfter: number;
  /** h1's CPU time in the window over its length: 1 = one core busy. */
  h1Cores: number | null;
  /**
   * How long h1's main thread (its event loop: driver timers and the panel) waited for a
   * CPU while runnable, in the window: tells a starved machine from a busy event loop.
   */
  h1RunQueueWaitMs: number | null;
}

export interface ApiLoadResult {
  heartbeatPeriodMs: number;
  idle: Window;
  load: Window & { generator: LoadResult; generatorCores: number | null };
}

export async function measureApiLoad(o: {
  lab: LoopbackCluster;
  url: string;
  cookie: string;
  concurrency: number;
  seconds: number;
}): Promise<ApiLoadResult> {
  progress(`api: idle window, ${o.seconds} s`);
  const idle = await observe(o.lab, o.seconds * 1000, undefined);

  progress(`api: ${o.concurrency} concurrent GET /api/status for ${o.seconds} s`);
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      GENERATOR,
      `${o.url}/api/status`,
      o.cookie,
      String(o.concurrency),
      String(o.seconds),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // Bounded: the generator stops by itself after warm-up + seconds.
    signal: AbortSignal.timeout((o.seconds + 30) * 1000),
  }).spawn();
  const cpu0 = cpuSeconds(child.pid);
  let generatorCores: number | null = null;
  const done = child.output().then((out) => {
    if (!out.success) {
      throw new Error(
        `the load generator failed: ${new TextDecoder().decode(out.stderr).trim()}`,
      );
    }
    return JSON.parse(new TextDecoder().decode(out.stdout)) as LoadResult;
  });
  let finished = false;
  done.finally(() => (finished = true)).catch(() => {});
  const t0 = performance.now();
  const load = await observe(o.lab, o.seconds * 1000, () => {
    // Sampled just before it exits: its CPU over its whole life.
    const c = cpuSeconds(child.pid);
    if (c !== null && cpu0 !== null) {
      generatorCores = round((c - cpu0) / ((performance.now() - t0) / 1000), 2);
    }
    return finished;
  });
  const generator = await done;
  progress(
    `api: ${generator.rps} req/s, p50 ${generator.latencyMs.p50} ms, p99 ${generator.latencyMs.p99} ms`,
  );
  return {
    heartbeatPeriodMs: DEFAULT_HEARTBEAT.periodMs,
    idle,
    load: { ...load, generator, generatorCores },
  };
}

/**
 * Samples h1's heartbeat age at h2 every 100 ms for at least `ms`, and on until `done`
 * says so (the generator has exited); h1's stats and CPU time around it.
 */
async function observe(
  lab: LoopbackCluster,
  ms: number,
  done: (() => boolean) | undefined,
): Promise<Window> {
  const [h1, h2] = lab.hosts;
  const pid = h1.proc!.pid;
  const s0: AgentStats = await agentStats(h1);
  const cpu0 = cpuSeconds(pid);
  const wait0 = runQueueWaitMs(pid);
  const t0 = performance.now();
  const ages: number[] = [];
  let errors = 0;
  while (performance.now() - t0 < ms || (done && !done())) {
    if (performance.now() - t0 > ms + 60_000) throw new Error("the load generator never ended");
    const next = performance.now() + POLL_MS;
    try {
      const s = await lab.status(h2);
      const age = s.hosts.find((h) => h.name === h1.name)?.heartbeatAgeMs;
      if (typeof age === "number") ages.push(age);
      else errors++;
    } catch {
      errors++;
    }
    await sleep(Math.max(0, next - performance.now()));
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(pid);
  const wait1 = runQueueWaitMs(pid);
  const s1: AgentStats = await agentStats(h1);
  const { raw: _raw, ...heartbeatAgeMs } = summarize(ages, 0);
  return {
    seconds: round(seconds, 1),
    heartbeatAgeMs,
    worstLateMs: heartbeatAgeMs.max === null
      ? null
      : Math.max(0, heartbeatAgeMs.max - DEFAULT_HEARTBEAT.periodMs),
    statusPolls: ages.length,
    statusErrors: errors,
    timers: s1.timers - s0.timers,
    timersLateOverPeriod: s1.timersLateOverPeriod - s0.timersLateOverPeriod,
    worstTimerLateMsBefore: round(s0.worstTimerLateMs, 1),
    worstTimerLateMsAfter: round(s1.worstTimerLateMs, 1),
    h1Cores: cpu0 === null || cpu1 === null ? null : round((cpu1 - cpu0) / seconds, 2),
    h1RunQueueWaitMs: wait0 === null || wait1 === null ? null : round(wait1 - wait0, 0),
  };
}

/** Time the process's main thread spent runnable but waiting for a CPU (/proc schedstat). */
function runQueueWaitMs(pid: number): number | null {
  try {
    const [, waitNs] = Deno.readTextFileSync(`/proc/${pid}/schedstat`).trim().split(" ");
    return Number(waitNs) / 1e6;
  } catch {
    return null;
  }
}
