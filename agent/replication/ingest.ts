/**
 * The exporter's scan of its source directory into the content store.
 *
 *   scan(["img", "css"])            directories a watcher saw change ("all": every one)
 *     │ readDir + lstat each listed directory; per entry:
 *     │   file, same (size, mtime, inode, ctime) as cached ─▶ cached FileEntry, no read
 *     │   file, new inode seen elsewhere (a rename)         ─▶ that entry, no read
 *     │   file, changed, mtime ≥ stableBeforeMs             ─▶ settling: old version kept
 *     │   file, changed                                     ─▶ read into the store
 *     │   directory, new (or "all")                         ─▶ scanned recursively
 *     │   symlink                                           ─▶ path_rules.resolveLink
 *     │   fifo, socket, device, bad name, escaping link     ─▶ rejected
 *     ▼
 *   trees rebuilt bottom-up: the listed directories, new ones, and their ancestors
 *
 * Hidden files are included. The cache is per directory (_scan_state.ts): the entries
 * that go into its tree plus four numbers per file in one Float64Array (100k files:
 * ~50 MB of heap with the store's own index). Listed directories that vanished, or are
 * not known yet, are handled by rescanning the nearest known ancestor. A scan that fails
 * midway leaves its directories marked, and the next one rebuilds their trees.
 */
import { checkName, joinRel, resolveLink } from "./path_rules.ts";
import type { ContentStore } from "./content_store.ts";
import { type DirEntry, type FileEntry, type Hash, type TreeEntry, treeTotals } from "./tree.ts";
import { ingestFile } from "./_ingest_file.ts";
import { cooperate, Limiter, lstatOrUndefined, mapLimit, SerialQueue } from "./_fs.ts";
import {
  depthOf,
  type DirState,
  findEntry,
  kindOf,
  lstatAll,
  NO_STAT,
  normalize,
  parentOf,
  readNames,
  sameStat,
  type Stat4,
  STAT_FIELDS,
  statAt,
} from "./_scan_state.ts";

/** Files (and symlinks) of one directory handled at once; reads are further bounded by #reads. */
const FILES_AT_ONCE = 16;
/** Subdirectories of one directory scanned at once (so at most 2^depth directories are open). */
const DIRS_AT_ONCE = 2;

export interface ScanOptions {
  /** Files modified after this wall-clock ms are still being written: left for a later scan. */
  stableBeforeMs: number;
}

export interface ScanResult {
  root: Hash;
  files: number;
  bytes: number;
  /** A symlink somewhere climbs above its own directory (still inside the tree). */
  climbs: boolean;
  /** Entries left out: bad names, links leaving the tree, fifos, sockets, devices, unreadable. */
  rejected: { path: string; reason: string }[];
  /** Files that changed too recently or while being read: the tree has their old version (or none). */
  settling: string[];
  /** Bytes read from the source by this scan. */
  readBytes: number;
}

interface Run {
  opts: ScanOptions;
  rejected: { path: string; reason: string }[];
  settling: string[];
  readBytes: number;
  /** Directories whose entries changed: they and their ancestors get new trees. */
  dirty: Set<string>;
  done: Set<string>;
  /** (inode, entry) of files gone from where they were: forgotten at the end of the scan. */
  departed: [number, FileEntry][];
}

export class SourceIndex {
  readonly source: string;
  readonly #store: ContentStore;
  #dirs = new Map<string, DirState>();
  /** Inode → the entry last read from it, so a renamed file or directory is not read again. */
  #byIno = new Map<number, FileEntry>();
  /** Directories whose trees must be rebuilt; kept across a scan that failed midway. */
  #dirty = new Set<string>();
  #io = new Limiter(32);
  #reads = new Limiter(8);
  #queue = new SerialQueue();

  constructor(sourceDir: string, store: ContentStore) {
    this.#store = store;
    this.source = sourceDir.replace(/\/+$/, "") || "/";
  }

  /** The root tree of the last scan, or undefined before the first. */
  get root(): Hash | undefined {
    return this.#dirs.get("")?.hash;
  }

  /** Rescans `dirs` (relative paths, "" = the root) or everything; scans run one at a time. */
  scan(dirs: string[] | "all", opts: ScanOptions): Promise<ScanResult> {
    return this.#queue.run(() => this.#scan(dirs, opts));
  }

  async #scan(dirs: string[] | "all", opts: ScanOptions): Promise<ScanResult> {
    const run: Run = {
      opts,
      rejected: [],
      settling: [],
      readBytes: 0,
      dirty: this.#dirty,
      done: new Set(),
      departed: [],
    };
    if (dirs === "all" || !this.#dirs.has("")) await this.#rescan("", true, run);
    else {
      const listed = [...new Set(dirs.map(normalize))].sort((a, b) => depthOf(a) - depthOf(b));
      for (const d of listed) {
        const target = await this.#nearestKnown(d);
        if (!run.done.has(target)) await this.#rescan(target, false, run);
      }
    }
    await this.#buildTrees(run);
    this.#dirty.clear();
    for (const [ino, e] of run.departed) if (this.#byIno.get(ino) === e) this.#byIno.delete(ino);
    const root = this.#dirs.get("")!;
    return {
      root: root.hash,
      files: root.files,
      bytes: root.bytes,
      climbs: root.climbs,
      rejected: run.rejected,
      settling: run.settling,
      readBytes: run.readBytes,
    };
  }

  #abs(rel: string): string {
    return rel === "" ? this.source : `${this.source}/${rel}`;
  }

  async #nearestKnown(rel: string): Promise<string> {
    while (rel !== "") {
      if (this.#dirs.has(rel) && (await lstatOrUndefined(this.#abs(rel)))?.isDirectory) return rel;
      rel = parentOf(rel);
    }
    return rel;
  }

  /** Re-reads one directory; false if it cannot be read (then its old state stays, if any). */
  async #rescan(rel: string, deep: boolean, run: Run): Promise<boolean> {
    run.done.add(rel);
    const abs = this.#abs(rel);
    let names: string[];
    try {
      names = await this.#io.run(() => readNames(abs));
    } catch (e) {
      const why = (e as Error).message;
      if (rel === "") {
        throw new Error(
          `cannot read the source directory ${abs}: ${why} (check replication's source)`,
        );
      }
      run.rejected.push({ path: rel, reason: `cannot read the directory: ${why}` });
      return false;
    }
    const old = this.#dirs.get(rel);
    const infos = await lstatAll(abs, names);
    const slots: (TreeEntry | undefined)[] = new Array(names.length);
    const stats: Stat4[] = new Array(names.length).fill(NO_STAT);
    // Thunks, run below with bounded concurrency: starting every file of a 100k-file tree
    // at once held a promise, a closure and a FileInfo per file (~300 MB at peak).
    const jobs: (() => Promise<void>)[] = [], subdirs: (() => Promise<void>)[] = [];
    let linkClimbs = false;
    for (let i = 0; i < names.length; i++) {
      const name = names[i], st = infos[i], path = joinRel(rel, name);
      if (!st) continue; // vanished since readDir
      const bad = checkName(name);
      if (bad) {
        run.rejected.push({ path, reason: bad });
        continue;
      }
      if (st.isSymlink) {
        jobs.push(() =>
          (async () => {
            const target = await this.#io.run(() => Deno.readLink(`${abs}/${name}`));
            const r = resolveLink(rel, target);
            if (!r.ok) return void run.rejected.push({ path, reason: r.reason });
            if (r.climbs) linkClimbs = true;
            slots[i] = { name, type: "symlink", target };
          })().catch((e) => void run.rejected.push({ path, reason: (e as Error).message }))
        );
      } else if (st.isDirectory) {
        const entry: DirEntry = {
          name,
          type: "dir",
          mode: st.mode! & 0o7777,
          tree: "",
          files: 0,
          bytes: 0,
        };
        if (deep || !this.#dirs.has(path)) {
          subdirs.push(() =>
            this.#rescan(path, deep, run).then((ok) => {
              if (ok || this.#dirs.has(path)) slots[i] = entry;
            })
          );
        } else slots[i] = entry;
      } else if (st.isFile) {
        const prev = old ? findEntry(old, name) : -1;
        jobs.push(() =>
          this.#file(path, st, old, prev, run).then(
            (r) => {
              if (r) slots[i] = r.entry, stats[i] = r.stat;
            },
            (e) => void run.rejected.push({ path, reason: `cannot read: ${(e as Error).message}` }),
          )
        );
      } else {
        const reason = `is ${kindOf(st)}: only files, directories and symlinks are replicated`;
        run.rejected.push({ path, reason });
      }
    }
    await mapLimit(jobs, FILES_AT_ONCE, (job) => job());
    await mapLimit(subdirs, DIRS_AT_ONCE, (job) => job());

    const kept: number[] = [];
    for (let i = 0; i < names.length; i++) if (slots[i]) kept.push(i);
    const entries = kept.map((i) => slots[i]!);
    const packed = new Float64Array(kept.length * STAT_FIELDS);
    kept.forEach((i, k) => packed.set(stats[i], k * STAT_FIELDS));
    if (old) this.#forgetVanished(rel, old, entries, run);
    const state = old ?? { hash: "", files: 0, bytes: 0, climbs: false } as DirState;
    state.entries = entries, state.stats = packed, state.linkClimbs = linkClimbs;
    this.#dirs.set(rel, state);
    run.dirty.add(rel);
    return true;
  }

  /** The entry for a file and the stat it was read at, or undefined to leave it out. */
  async #file(
    path: string,
    st: Deno.FileInfo,
    old: DirState | undefined,
    prev: number,
    run: Run,
  ): Promise<{ entry: FileEntry; stat: Stat4 } | undefined> {
    const stat: Stat4 = [st.size, st.mtime?.getTime() ?? 0, st.ino ?? 0, st.ctime?.getTime() ?? -1];
    const mode = st.mode! & 0o7777, name = path.slice(path.lastIndexOf("/") + 1);
    const before = prev >= 0 && old!.entries[prev].type === "file"
      ? { entry: old!.entries[prev] as FileEntry, stat: statAt(old!.stats, prev) }
      : undefined;
    await cooperate();
    if (before && sameStat(before.stat, stat)) {
      const entry = before.entry.mode === mode ? before.entry : { ...before.entry, mode };
      if (await this.#ensureStored(entry)) return { entry, stat };
    } else if (!before) {
      const moved = this.#byIno.get(stat[2]);
      if (moved && moved.size === stat[0] && moved.mtimeMs === stat[1]) {
        const entry = { ...moved, name, mode };
        if (await this.#ensureStored(entry)) return this.#remember(entry, stat, before, run);
      }
    }
    const fallback = before && this.#store.hasFile(before.entry) ? before : undefined;
    if (stat[1] > run.opts.stableBeforeMs) {
      run.settling.push(path);
      return fallback;
    }
    const r = await this.#reads.run(() =>
      ingestFile(this.#store, this.#abs(path), name, mode, {
        size: stat[0],
        mtimeMs: stat[1],
        ino: stat[2],
      })
    );
    run.readBytes += r.read;
    if (!r.entry) {
      run.settling.push(path);
      return fallback;
    }
    return this.#remember(r.entry, stat, before, run);
  }

  #remember(
    entry: FileEntry,
    stat: Stat4,
    before: { entry: FileEntry; stat: Stat4 } | undefined,
    run: Run,
  ): { entry: FileEntry; stat: Stat4 } {
    if (before && before.stat[2] !== stat[2]) run.departed.push([before.stat[2], before.entry]);
    this.#byIno.set(stat[2], entry);
    return { entry, stat };
  }

  /** True once the store has `e`'s inode, made from another inode of the same content if need be. */
  async #ensureStored(e: FileEntry): Promise<boolean> {
    if (this.#store.hasFile(e)) return true;
    const src = this.#store.findContent(e.hash);
    if (!src) return false;
    await this.#store.installCopy(e, src);
    return true;
  }

  /** Drops the cached subtrees of directories gone from `old`, and notes departed files. */
  #forgetVanished(rel: string, old: DirState, now: TreeEntry[], run: Run): void {
    const nowByName = new Map(now.map((e) => [e.name, e.type]));
    old.entries.forEach((e, i) => {
      const type = nowByName.get(e.name);
      if (e.type === "dir" && type !== "dir") this.#drop(joinRel(rel, e.name), run);
      if (e.type === "file" && type !== "file") run.departed.push([statAt(old.stats, i)[2], e]);
    });
  }

  #drop(rel: string, run: Run): void {
    const st = this.#dirs.get(rel);
    if (!st) return;
    this.#dirs.delete(rel);
    st.entries.forEach((e, i) => {
      if (e.type === "dir") this.#drop(joinRel(rel, e.name), run);
      else if (e.type === "file") run.departed.push([statAt(st.stats, i)[2], e]);
    });
  }

  /** New trees for the dirty directories and their ancestors, deepest first. */
  async #buildTrees(run: Run): Promise<void> {
    const todo = new Set<string>();
    for (let d of run.dirty) {
      todo.add(d);
      while (d !== "") todo.add(d = parentOf(d));
    }
    const byDepth = new Map<number, string[]>();
    for (const d of todo) {
      const k = depthOf(d);
      const level = byDepth.get(k);
      if (level) level.push(d);
      else byDepth.set(k, [d]);
    }
    for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) {
      await mapLimit(byDepth.get(depth)!, 16, (d) => this.#buildDir(d));
    }
  }

  async #buildDir(rel: string): Promise<void> {
    const st = this.#dirs.get(rel);
    if (!st) return;
    const keep: number[] = [];
    st.entries.forEach((e, i) => {
      if (e.type !== "dir") return void keep.push(i);
      const child = this.#dirs.get(joinRel(rel, e.name));
      if (!child) return;
      const d: DirEntry = {
        name: e.name,
        type: "dir",
        mode: e.mode,
        tree: child.hash,
        files: child.files,
        bytes: child.bytes,
      };
      if (child.climbs) d.climbs = true;
      st.entries[i] = d;
      keep.push(i);
    });
    if (keep.length !== st.entries.length) {
      const stats = new Float64Array(keep.length * STAT_FIELDS);
      keep.forEach((i, k) => stats.set(statAt(st.stats, i), k * STAT_FIELDS));
      st.entries = keep.map((i) => st.entries[i]), st.stats = stats;
    }
    const tree = { entries: st.entries };
    st.hash = await this.#store.writeTree(tree);
    await cooperate();
    const t = treeTotals(tree);
    st.files = t.files, st.bytes = t.bytes, st.climbs = t.climbs || st.linkClimbs;
  }
}
