/**
 * The five cases of `bench:replication`, each on a fresh lab (replication.ts makes it).
 * A case writes its data twice from one seed, `<base>/rs/data` for rsync and
 * `<base>/stage/data` for the exporter's source, so both sides move the same bytes; it
 * makes the same edit on both copies. rsync runs first (agents idle), then the cluster.
 *
 *   initial    10k files / 500 MB: rsync's first push vs `replication now` until served
 *   tree       one changed file in a 100k-file tree: rsync's push vs our latency (samples)
 *   insert     a 1-byte insertion in the middle of a 200 MB file
 *   rename     `mv` of a 1 GB directory
 *   latency    a new small file on the exporter until every host serves it (samples)
 */
import {
  insertByte,
  rewriteFile,
  treePath,
  type TreeSpec,
  writeBigFile,
  writeTree,
} from "./_repl_data.ts";
import { agentTrouble } from "./_repl_events.ts";
import { agentGc, agentMemory, idleWire, published, type ReplLab } from "./_repl_lab.ts";
import {
  applianceChange,
  applianceInitial,
  type ApplianceSide,
  checkServed,
  rsyncBoth,
  type RsyncSide,
  servesBytes,
  settle,
  SYNC_TIMEOUT_MS,
} from "./_repl_measure.ts";
import { median, progress, round, summarize } from "./_stats.ts";

export const CASES = ["initial", "tree", "insert", "rename", "latency"] as const;
export type CaseName = typeof CASES[number];

export interface Sizes {
  initial: TreeSpec;
  tree: TreeSpec;
  insertBytes: number;
  rename: TreeSpec;
  latency: TreeSpec;
}

const MB = 1 << 20;

export const FULL: Sizes = {
  initial: { files: 10_000, bytes: 500 * MB, dirs: 100, seed: 1 },
  tree: { files: 100_000, bytes: 250 * MB, dirs: 1000, seed: 2 },
  insertBytes: 200 * MB,
  rename: { files: 1024, bytes: 1024 * MB, dirs: 32, seed: 4 },
  latency: { files: 200, bytes: 1 * MB, dirs: 10, seed: 5 },
};

export const QUICK: Sizes = {
  initial: { files: 1000, bytes: 50 * MB, dirs: 10, seed: 1 },
  tree: { files: 10_000, bytes: 25 * MB, dirs: 100, seed: 2 },
  insertBytes: 20 * MB,
  rename: { files: 100, bytes: 100 * MB, dirs: 10, seed: 4 },
  latency: { files: 200, bytes: 1 * MB, dirs: 10, seed: 5 },
};

export interface CaseOptions {
  sizes: Sizes;
  /** Appliance samples of the latency cases (tree, latency). */
  samples: number;
  /** rsync samples of the same (each is a full push). */
  rsyncSamples: number;
}

/** Runs case `name` on lab r, after measuring the lab's idle traffic. */
export async function runCase(
  name: CaseName,
  r: ReplLab,
  o: CaseOptions,
): Promise<Record<string, unknown>> {
  const idle = await idleWire(r);
  const body = await caseBody(name, r, o);
  return {
    idle_wire_bytes_per_s: idle,
    ...body,
    gc_pacer: await agentGc(r),
    agent_trouble_events: agentTrouble(r),
  };
}

function caseBody(name: CaseName, r: ReplLab, o: CaseOptions): Promise<Record<string, unknown>> {
  switch (name) {
    case "initial":
      return initial(r, o.sizes.initial);
    case "tree":
      return changes(r, o, o.sizes.tree, "changed");
    case "insert":
      return insert(r, o.sizes.insertBytes);
    case "rename":
      return rename(r, o.sizes.rename);
    case "latency":
      return changes(r, o, o.sizes.latency, "new");
  }
}

/** Writes the case's data (under DIR/data) as rsync's copy and as the exporter's. */
function writeBoth(r: ReplLab, write: (dir: string) => void): void {
  const t = performance.now();
  for (const d of [`${r.rsSource}/data`, `${r.stage}/data`]) {
    Deno.mkdirSync(d, { recursive: true });
    write(d);
  }
  progress(`  data written twice in ${Math.round(performance.now() - t)} ms`);
}

/** Both sides' first sync of the case's data (rsync's two ways, then ours). */
async function firstSync(r: ReplLab) {
  const rs = await rsyncBoth(r);
  progress(
    `  rsync ${rs.rsync.ms} ms (${mb(rs.rsync.wire_bytes)}), link-dest ${rs.rsync_linkdest.ms} ms`,
  );
  const appliance = await applianceInitial(r);
  progress(
    `  appliance ${appliance.ms} ms (${
      mb(appliance.wire_bytes)
    }), scan ${appliance.exporter_scan_ms} ms`,
  );
  return { appliance, ...rs };
}

async function initial(r: ReplLab, spec: TreeSpec) {
  let bytes = 0;
  writeBoth(r, (d) => bytes = writeTree(d, spec));
  const out = await firstSync(r);
  await checkServed(r, r.source, `data/${treePath(spec, spec.files - 1)}`);
  await settle(r);
  return { files: spec.files, bytes, ...out, memory_after: agentMemory(r) };
}

async function insert(r: ReplLab, size: number) {
  writeBoth(r, (d) => writeBigFile(`${d}/big.bin`, size, 3));
  const first = await firstSync(r);
  await settle(r);
  insertByte(`${r.rsSource}/data/big.bin`, `${r.base}/rs.tmp`);
  const rs = await rsyncBoth(r);
  progress(`  after the insertion: rsync ${rs.rsync.ms} ms, ${mb(rs.rsync.wire_bytes)}`);
  const appliance = await applianceChange(
    r,
    () => insertByte(`${r.source}/data/big.bin`, `${r.stage}/big.tmp`),
    async (h) =>
      (await Deno.stat(`${published(h)}/data/big.bin`).catch(() => null))?.size === size + 1,
    SYNC_TIMEOUT_MS,
  );
  progress(`  appliance ${appliance.ms} ms after the window, ${mb(appliance.wire_bytes)}`);
  await checkServed(r, r.source, "data/big.bin");
  return { file_bytes: size, appliance, ...rs, first_sync: first };
}

async function rename(r: ReplLab, spec: TreeSpec) {
  let bytes = 0;
  writeBoth(r, (d) => bytes = writeTree(`${d}/site`, spec));
  const first = await firstSync(r);
  await settle(r);
  Deno.renameSync(`${r.rsSource}/data/site`, `${r.rsSource}/data/site-renamed`);
  const rs = await rsyncBoth(r);
  progress(`  after the rename: rsync ${rs.rsync.ms} ms, ${mb(rs.rsync.wire_bytes)}`);
  const gone = async (p: string) => !(await Deno.lstat(p).then(() => true, () => false));
  const appliance = await applianceChange(
    r,
    () => Deno.renameSync(`${r.source}/data/site`, `${r.source}/data/site-renamed`),
    async (h) =>
      (await Deno.stat(`${published(h)}/data/site-renamed`).then(() => true, () => false)) &&
      await gone(`${published(h)}/data/site`),
    SYNC_TIMEOUT_MS,
  );
  progress(`  appliance ${appliance.ms} ms after the window, ${mb(appliance.wire_bytes)}`);
  await checkServed(r, r.source, `data/site-renamed/${treePath(spec, 0)}`);
  return { dir_files: spec.files, dir_bytes: bytes, appliance, ...rs, first_sync: first };
}

/**
 * Small edits one at a time: `changed` rewrites an existing file of the tree, `new` writes
 * a new one. rsync pushes after each of its edits; we wait for the watcher.
 */
async function changes(r: ReplLab, o: CaseOptions, spec: TreeSpec, kind: "changed" | "new") {
  let bytes = 0;
  writeBoth(r, (d) => bytes = writeTree(d, spec));
  const first = await firstSync(r);
  await settle(r);
  const memoryAfterSync = agentMemory(r);
  const rel = (i: number) =>
    kind === "changed"
      ? `data/${treePath(spec, (i * 7919 + 13) % spec.files)}`
      : `data/${treePath(spec, i % spec.dirs).split("/")[0]}/new-${i}.bin`;
  const edit = (root: string, i: number) =>
    rewriteFile(`${root}/${rel(i)}`, `${root}/../edit.tmp`, 1000 + i);

  const rsPlain: RsyncSide[] = [], rsLink: RsyncSide[] = [];
  for (let i = 0; i < o.rsyncSamples; i++) {
    edit(r.rsSource, i);
    const rs = await rsyncBoth(r);
    rsPlain.push(rs.rsync);
    rsLink.push(rs.rsync_linkdest);
    progress(
      `  rsync ${i + 1}/${o.rsyncSamples}: ${rs.rsync.ms} ms, link-dest ${rs.rsync_linkdest.ms} ms`,
    );
  }
  const ours = [];
  for (let i = 0; i < o.samples; i++) {
    let want: Uint8Array = new Uint8Array();
    const s = await applianceChange(
      r,
      () => want = edit(r.source, i),
      (h) => servesBytes(h, rel(i), want),
    );
    ours.push(s);
    progress(`  appliance ${i + 1}/${o.samples}: ${s.ms} ms after the window (${s.wire_bytes} B)`);
    await settle(r);
  }
  return {
    files: spec.files,
    bytes,
    edit: kind === "changed" ? "one existing file rewritten" : "one new file written",
    appliance: {
      latency_ms: summarize(ours.map((s) => s.ms)),
      latency_with_window_ms: summarize(ours.map((s) => s.ms_with_window)),
      wire_bytes_median: median(ours.map((s) => s.wire_bytes)),
      per_importer_max_median: median(ours.map((s) => s.per_importer_max)),
      fetched_bytes_per_importer_median: median(ours.map(fetchedMax)),
      // Where the time goes, as the agents log it: the exporter's scan and generation, the
      // slower importer's fetch and stage (the rest: heartbeats, commit, publish, our poll).
      exporter_made_ms_median: medianOf(ours.map((s) => s.agents.exporter[0]?.made_ms)),
      importer_staged_ms_median: medianOf(ours.map(stagedMax)),
      max_rss_mb: maxEach(ours.map((s) => s.max_rss_mb)),
    },
    rsync: rsyncSummary(rsPlain),
    rsync_linkdest: rsyncSummary(rsLink),
    first_sync: first,
    memory_after_sync: memoryAfterSync,
    memory_after: agentMemory(r),
  };
}

/** The most chunk bytes one importer logged fetching (content.staged) for a change. */
function fetchedMax(s: ApplianceSide): number {
  const per = Object.values(s.agents.staged).map((l) => l.reduce((n, x) => n + x.fetched_bytes, 0));
  return Math.max(0, ...per);
}

/** The median of the numbers among `xs`; null when there are none. */
function medianOf(xs: (number | null | undefined)[]): number | null {
  const ok = xs.filter((x): x is number => typeof x === "number" && Number.isFinite(x));
  return ok.length ? median(ok) : null;
}

/** The slower importer's "staged in N ms" for a change. */
function stagedMax(s: ApplianceSide): number {
  return Math.max(
    0,
    ...Object.values(s.agents.staged).flatMap((l) => l.map((x) => x.staged_ms ?? 0)),
  );
}

function rsyncSummary(runs: RsyncSide[]) {
  return {
    ms: summarize(runs.map((s) => s.ms)),
    durable_ms: summarize(runs.map((s) => s.durable_ms)),
    wire_bytes_median: median(runs.map((s) => s.wire_bytes)),
    per_importer_max_median: median(runs.map((s) => s.per_importer_max)),
  };
}

function maxEach(list: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of list) for (const [k, v] of Object.entries(m)) out[k] = Math.max(out[k] ?? 0, v);
  return out;
}

function mb(bytes: number): string {
  return `${round(bytes / MB, 2)} MB`;
}
