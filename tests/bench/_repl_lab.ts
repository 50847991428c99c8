/**
 * The namespace lab of `bench:replication`: three real agents (h1 exports `source`, h2 and
 * h3 import it) with the dataplane off, rsync daemons beside h2's and h3's agents for the
 * baseline, and what the cases read off them: the importers' veth byte counters, the
 * agents' RSS, the generation each host serves, and a poll of every host's published copy.
 *
 *   <base>/source    h1's content source (the agents' copy of a case's data goes here)
 *   <base>/rs        the rsync copy of the same data (rsync pushes from it)
 *   <base>/stage     where a case writes data before moving it into source
 *   <base>/rsync/hN  the rsync daemons' destinations
 *   <base>/lab/hN    the agents' state dirs (<stateDir>/content/current is served)
 */
import { type LabHost, NetnsLab } from "../../agent/lab/netns_lab.ts";
import { callAgent } from "../../agent/control/control_client.ts";
import { RsyncBaseline } from "./_repl_rsync.ts";
import { sleep } from "./_stats.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** The agent as shipped (see tests/bench/_lab.ts). */
const APPLIANCE = [Deno.execPath(), "run", "-A", "--v8-flags=--max-semi-space-size=2", MAIN];

export interface ReplLab {
  lab: NetnsLab;
  base: string;
  source: string;
  rsSource: string;
  stage: string;
  exporter: LabHost;
  importers: LabHost[];
  rsync: RsyncBaseline;
  stabilizeMs: number;
}

export interface ReplLabOptions {
  stabilizeMs: number;
  /** The parent of the run's temp dir (default /var/tmp: on disk, not tmpfs). */
  tmpRoot?: string;
  log?: (line: string) => void;
}

/** A converged 3-host lab with replication on and rsync daemons up. The caller destroys it. */
export async function createReplLab(o: ReplLabOptions): Promise<ReplLab> {
  const base = await Deno.makeTempDir({
    dir: o.tmpRoot ?? "/var/tmp",
    prefix: "appliance-bench-repl-",
  });
  const source = `${base}/source`, rsSource = `${base}/rs`, stage = `${base}/stage`;
  for (const d of [source, rsSource, stage]) await Deno.mkdir(d, { recursive: true });
  let lab: NetnsLab | undefined;
  try {
    lab = await NetnsLab.create({
      hosts: 3,
      clients: 0,
      command: APPLIANCE,
      baseDir: `${base}/lab`,
      initArgs: ["--content-source", source],
      runArgs: () => ["--dataplane", "off"],
      settings: [`replication.stabilizeMs=${o.stabilizeMs}`],
      log: o.log,
    });
    await lab.waitConverged(30_000);
    const [exporter, ...importers] = lab.hosts;
    const rsync = new RsyncBaseline(lab, exporter, importers, `${base}/rsync`);
    await rsync.start();
    const r: ReplLab = {
      lab,
      base,
      source,
      rsSource,
      stage,
      exporter,
      importers,
      rsync,
      stabilizeMs: o.stabilizeMs,
    };
    // The exporter's first scan (of the empty source) makes generation 1: wait for it.
    await waitAll(lab.hosts, async (h) => (await servedGen(h)) >= 1, 60_000);
    return r;
  } catch (e) {
    if (lab) {
      const logs = await Promise.all(
        lab.hosts.map(async (h) => `${h.name}:\n${await lab!.agentLog(h, 15)}`),
      );
      (e as Error).message += `\nagent logs:\n${logs.join("\n")}`;
    }
    await lab?.destroy().catch(() => {});
    await Deno.remove(base, { recursive: true }).catch(() => {});
    throw e;
  }
}

export async function destroyReplLab(r: ReplLab): Promise<void> {
  try {
    await r.lab.destroy();
  } finally {
    await Deno.remove(r.base, { recursive: true }).catch(() => {});
  }
}

/** The generation h serves: `current -> gens/N` (0: none yet). */
export async function servedGen(h: LabHost): Promise<number> {
  try {
    const m = /^gens\/(\d+)$/.exec(await Deno.readLink(`${h.stateDir}/content/current`));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** h's published copy, as a web server would read it. */
export function published(h: LabHost): string {
  return `${h.stateDir}/content/current`;
}

/**
 * Polls `ok` on every host every `everyMs` until all hold; returns when each first held
 * (ms after `started`, default: the call). Throws after timeoutMs naming the hosts still waiting.
 */
export async function waitAll(
  hosts: LabHost[],
  ok: (h: LabHost) => Promise<boolean> | boolean,
  timeoutMs: number,
  everyMs = 5,
  started = performance.now(),
): Promise<Record<string, number>> {
  const done: Record<string, number> = {};
  while (Object.keys(done).length < hosts.length) {
    for (const h of hosts) {
      if (done[h.name] === undefined && await ok(h)) done[h.name] = performance.now() - started;
    }
    if (Object.keys(done).length === hosts.length) break;
    if (performance.now() - started > timeoutMs) {
      const late = hosts.filter((h) => done[h.name] === undefined).map((h) => h.name);
      throw new Error(`not reached within ${timeoutMs} ms on ${late.join(", ")}`);
    }
    await sleep(everyMs);
  }
  return done;
}

/** `replication now` on the exporter's control socket: rescans; resolves with the new generation. */
export async function replicationNow(r: ReplLab, timeoutMs = 30 * 60_000): Promise<number> {
  const out = await callAgent<{ message: string; gen?: number }>(
    r.exporter.stateDir,
    "POST",
    "/replication/command",
    { command: "now", confirm: false, by: "bench" },
    timeoutMs,
  );
  if (out.gen === undefined) throw new Error(`replication now made no generation: ${out.message}`);
  return out.gen;
}

export interface Counters {
  [host: string]: { rx: number; tx: number };
}

/** Every host's eth0 byte counters, read inside its namespace. */
export async function readCounters(r: ReplLab): Promise<Counters> {
  const out: Counters = {};
  await Promise.all(r.lab.hosts.map(async (h) => {
    const text = await r.lab.exec(h, [
      "cat",
      "/sys/class/net/eth0/statistics/rx_bytes",
      "/sys/class/net/eth0/statistics/tx_bytes",
    ]);
    const [rx, tx] = text.trim().split(/\s+/).map(Number);
    out[h.name] = { rx, tx };
  }));
  return out;
}

export interface Wire {
  /** rx + tx on the importers' links, summed (what the brief calls bytes on the wire). */
  wire_bytes: number;
  /** The most one importer's link carried (rx + tx): what "moves" to one host. */
  per_importer_max: number;
  importers: Record<string, { rx: number; tx: number }>;
}

export function wireDelta(r: ReplLab, a: Counters, b: Counters): Wire {
  const importers: Wire["importers"] = {};
  let wire = 0, max = 0;
  for (const h of r.importers) {
    const d = { rx: b[h.name].rx - a[h.name].rx, tx: b[h.name].tx - a[h.name].tx };
    importers[h.name] = d;
    wire += d.rx + d.tx;
    max = Math.max(max, d.rx + d.tx);
  }
  return { wire_bytes: wire, per_importer_max: max, importers };
}

/** Bytes per second the importers' links carry while nothing replicates (heartbeats…). */
export async function idleWire(r: ReplLab, ms = 1000): Promise<number> {
  const a = await readCounters(r);
  await sleep(ms);
  const b = await readCounters(r);
  return Math.round((wireDelta(r, a, b).wire_bytes * 1000) / ms);
}

/** VmRSS and VmHWM (peak) of each host's agent process, in MB. */
export function agentMemory(r: ReplLab): Record<string, { rss_mb: number; peak_mb: number }> {
  const out: Record<string, { rss_mb: number; peak_mb: number }> = {};
  for (const h of r.lab.hosts) {
    const pid = h.agent?.pid;
    if (pid === undefined) continue;
    try {
      const s = Deno.readTextFileSync(`/proc/${pid}/status`);
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN);
      out[h.name] = { rss_mb: round1(kb("VmRSS") / 1024), peak_mb: round1(kb("VmHWM") / 1024) };
    } catch { /* exited */ }
  }
  return out;
}

/** Each agent's GC pacer so far (its /stats): full collections and the ms they took. */
export async function agentGc(
  r: ReplLab,
): Promise<Record<string, { collections: number; spent_ms: number }>> {
  const out: Record<string, { collections: number; spent_ms: number }> = {};
  for (const h of r.lab.hosts) {
    try {
      const s = await callAgent<{ gc: { collections: number; spentMs: number } }>(
        h.stateDir,
        "GET",
        "/stats",
      );
      out[h.name] = { collections: s.gc.collections, spent_ms: s.gc.spentMs };
    } catch { /* not answering: left out */ }
  }
  return out;
}

/** The largest VmRSS seen per agent while `work` runs (sampled every 100 ms). */
export async function sampleRss<T>(
  r: ReplLab,
  work: Promise<T>,
): Promise<{ value: T; max_rss_mb: Record<string, number> }> {
  const max: Record<string, number> = {};
  const take = () => {
    for (const [name, m] of Object.entries(agentMemory(r))) {
      max[name] = Math.max(max[name] ?? 0, m.rss_mb);
    }
  };
  take();
  const t = setInterval(take, 100);
  try {
    const value = await work;
    take();
    return { value, max_rss_mb: max };
  } finally {
    clearInterval(t);
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
