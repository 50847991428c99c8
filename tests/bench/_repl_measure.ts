/**
 * One measurement of `bench:replication`, for each side over the same lab link:
 *
 *   rsyncRun         the exporter pushes <base>/rs to both importers (plain or linkdest)
 *   applianceInitial the case's data moves into the source, `replication now`, until every
 *                    host serves the new generation (the exporter's hashing included)
 *   applianceChange  an edit in the source, until every host serves it (the watcher's
 *                    stabilization window is subtracted, as the targets say)
 *
 * Each reports wall time and the bytes the importers' links carried (rx + tx, from the
 * veth counters inside their namespaces); ours adds the agents' RSS.
 */
import type { LabHost } from "../../agent/lab/netns_lab.ts";
import { callAgent } from "../../agent/control/control_client.ts";
import type { ReplicationStatus } from "../../agent/replication/status.ts";
import {
  readCounters,
  replicationNow,
  type ReplLab,
  sampleRss,
  servedGen,
  waitAll,
  type Wire,
  wireDelta,
} from "./_repl_lab.ts";
import type { RsyncMode } from "./_repl_rsync.ts";
import { sameBytes } from "./_repl_data.ts";
import { type AgentAccount, agentAccount } from "./_repl_events.ts";
import { round, sleep } from "./_stats.ts";
import { cpuSeconds } from "./_proc_cpu.ts";

/** How long one sync may take before the bench gives up on it. */
export const SYNC_TIMEOUT_MS = 20 * 60_000;
/** How long one small change may take to reach every host. */
export const CHANGE_TIMEOUT_MS = 60_000;

export interface RsyncSide extends Wire {
  ms: number;
  durable_ms: number;
  per_host_ms: Record<string, number>;
  /** CPU seconds (user + system) of every rsync process: the senders and both daemons. */
  cpu_s: number;
}

/**
 * CPU seconds the rsync side has used so far: the bench's reaped children (the senders, run
 * through `ip netns exec`) and the daemons with their reaped connection children.
 */
function rsyncCpu(r: ReplLab): number {
  let s = (cpuSeconds("self", true) ?? 0) - (cpuSeconds("self") ?? 0);
  for (const pid of r.rsync.daemonPids) s += cpuSeconds(pid, true) ?? 0;
  return s;
}

/** CPU seconds used so far by each agent. */
export function agentCpu(r: ReplLab): Record<string, number> {
  const out: Record<string, number> = {};
  for (const h of r.lab.hosts) if (h.agent) out[h.name] = cpuSeconds(h.agent.pid) ?? 0;
  return out;
}

function cpuDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(b).map((k) => [k, round(b[k] - (a[k] ?? 0))]));
}

/**
 * One push to both importers. rsync does not fsync what it writes, while the agents fsync
 * every file before they publish: `durable_ms` adds a sync(1) after the push, the time
 * until rsync's copies are on disk too.
 */
export async function rsyncRun(r: ReplLab, mode: RsyncMode): Promise<RsyncSide> {
  await syncDisks();
  const a = await readCounters(r);
  const cpu0 = rsyncCpu(r);
  const run = await r.rsync.sync(r.rsSource, mode);
  const b = await readCounters(r);
  const cpu = rsyncCpu(r) - cpu0;
  const t = performance.now();
  await syncDisks();
  return {
    ms: round(run.ms),
    durable_ms: round(run.ms + performance.now() - t),
    per_host_ms: roundAll(run.perHostMs),
    cpu_s: round(cpu),
    ...wireDelta(r, a, b),
  };
}

/** sync(1): dirty pages to disk, so writeback left from writing the data does not land in a measurement. */
export async function syncDisks(): Promise<void> {
  await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output();
}

/** Both rsync ways, one after the other; old linkdest copies are pruned after (not timed). */
export async function rsyncBoth(
  r: ReplLab,
): Promise<{ rsync: RsyncSide; rsync_linkdest: RsyncSide }> {
  const rsync = await rsyncRun(r, "plain");
  const rsync_linkdest = await rsyncRun(r, "linkdest");
  await r.rsync.prune();
  return { rsync, rsync_linkdest };
}

export interface ApplianceSide extends Wire {
  ms: number;
  per_host_ms: Record<string, number>;
  /** CPU seconds (user + system) each agent used meanwhile. */
  cpu_s: Record<string, number>;
  gen: number;
  max_rss_mb: Record<string, number>;
  /** What the agents logged about it (content.generation, content.staged). */
  agents: AgentAccount;
}

/**
 * Moves <base>/stage/data into the source (one rename, so the watcher sees one event) and
 * times `replication now` until every host serves the generation it made.
 */
export async function applianceInitial(
  r: ReplLab,
): Promise<ApplianceSide & { exporter_scan_ms: number }> {
  await syncDisks();
  await Deno.rename(`${r.stage}/data`, `${r.source}/data`);
  const a = await readCounters(r);
  const cpu0 = agentCpu(r);
  const wall = Date.now();
  const t0 = performance.now();
  const { value, max_rss_mb } = await sampleRss(
    r,
    (async () => {
      const gen = await replicationNow(r);
      const scanMs = performance.now() - t0;
      const ok = async (h: LabHost) => (await servedGen(h)) >= gen;
      return { gen, scanMs, per: await waitAll(r.lab.hosts, ok, SYNC_TIMEOUT_MS, 5, t0) };
    })(),
  );
  const ms = performance.now() - t0;
  const b = await readCounters(r);
  return {
    ms: round(ms),
    exporter_scan_ms: round(value.scanMs),
    per_host_ms: roundAll(value.per),
    cpu_s: cpuDelta(cpu0, agentCpu(r)),
    gen: value.gen,
    ...wireDelta(r, a, b),
    max_rss_mb,
    agents: agentAccount(r, wall),
  };
}

/**
 * Runs `edit` on the exporter's source and polls every host's published copy every 5 ms
 * until `served(h)` holds on all. ms: from the edit done to the last host, minus the
 * stabilization window.
 */
export async function applianceChange(
  r: ReplLab,
  edit: () => unknown,
  served: (h: LabHost) => Promise<boolean>,
  timeoutMs = CHANGE_TIMEOUT_MS,
): Promise<ApplianceSide & { ms_with_window: number }> {
  await syncDisks();
  const a = await readCounters(r);
  const cpu0 = agentCpu(r);
  const wall = Date.now();
  await edit();
  const t0 = performance.now();
  const { value: per, max_rss_mb } = await sampleRss(
    r,
    waitAll(r.lab.hosts, served, timeoutMs, 5, t0),
  );
  const total = Math.max(...Object.values(per));
  const b = await readCounters(r);
  const gens = await Promise.all(r.lab.hosts.map(servedGen));
  const w = r.stabilizeMs;
  return {
    ms: round(total - w),
    ms_with_window: round(total),
    per_host_ms: roundAll(Object.fromEntries(Object.entries(per).map(([k, v]) => [k, v - w]))),
    cpu_s: cpuDelta(cpu0, agentCpu(r)),
    gen: Math.min(...gens),
    ...wireDelta(r, a, b),
    max_rss_mb,
    agents: agentAccount(r, wall),
  };
}

/**
 * Waits until the cluster is quiet: past one stabilization window (a watcher hint from the
 * last edit has fired), the exporter offers what is committed and every host serves it idle.
 */
export async function settle(r: ReplLab, timeoutMs = 120_000): Promise<ReplicationStatus> {
  await sleep(r.stabilizeMs + 150);
  const deadline = Date.now() + timeoutMs;
  let last: ReplicationStatus | undefined;
  for (;;) {
    try {
      last = await callAgent<ReplicationStatus>(r.exporter.stateDir, "GET", "/replication/status");
      const quiet = last.offered === last.committed &&
        last.hosts.every((h) => h.state === "idle" && h.generation === last!.committed);
      if (quiet) return last;
    } catch { /* asked again below */ }
    if (Date.now() > deadline) {
      throw new Error(
        `replication did not settle in ${timeoutMs} ms: ${JSON.stringify(last?.hosts)}`,
      );
    }
    await sleep(100);
  }
}

/** Every host's published copy of `rel` holds exactly `bytes`. */
export async function servesBytes(h: LabHost, rel: string, bytes: Uint8Array): Promise<boolean> {
  try {
    return sameBytes(await Deno.readFile(`${h.stateDir}/content/current/${rel}`), bytes);
  } catch {
    return false;
  }
}

/** Throws unless every host serves `rel` with the same bytes as `source`. */
export async function checkServed(r: ReplLab, source: string, rel: string): Promise<void> {
  const want = await Deno.readFile(`${source}/${rel}`);
  for (const h of r.lab.hosts) {
    if (!(await servesBytes(h, rel, want))) {
      throw new Error(`${h.name} does not serve ${rel} as in ${source}`);
    }
  }
}

function roundAll(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v)]));
}
