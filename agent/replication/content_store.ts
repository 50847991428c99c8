/**
 * The content store: a host's copy of replicated generations, content-addressed, under
 * one root (default `<state-dir>/content`).
 *
 *   <root>/
 *   ├── current -> gens/N                  what the web server serves; publish(N) swaps it:
 *   │                                      symlink at a temp name, rename(2), fsync the root
 *   ├── gens/N -> ../trees/<key>           one symlink per kept generation,
 *   ├── gens/N.json                        …and its Generation record
 *   ├── objects/trees/<h[0:2]>/<hash>      tree objects (canonical bytes of encodeTree),
 *   │                                      checked against their hash on write and read
 *   ├── files/<h[0:2]>/<hash>.<mode>.<mtimeMs>
 *   │                                      one immutable inode per (content, mode octal,
 *   │                                      mtime): chmod'ed and utime'd, then renamed in
 *   ├── trees/<key>/                       a materialized directory (_materialize.ts): files
 *   │                                      are HARDLINKS to files/…, subdirectories relative
 *   │                                      symlinks `name -> ../<subkey>`, user links kept
 *   ├── dirlinks/<subkey>                  the symlink inode `-> ../<subkey>` that those
 *   │                                      subdirectory entries are hard links of
 *   ├── staging/<hash>.part                a file being assembled from chunks (resumable)
 *   ├── tmp/                               temporary files; emptied at open
 *   └── unsynced                           present while objects await the next stage's
 *                                          durability barrier (_object_store.ts)
 *
 * Crash safety: everything is written under a temporary name and renamed into place, so
 * a name that exists is complete; an old generation is never changed in place. stage()
 * makes its generation durable (objects, directories: one syncfs) before writing
 * gens/N.json and gens/N, and publish() is one rename, so after a kill -9 or a power cut
 * `current` still points at a complete generation.
 *
 * One process owns a store (the agent owning the state dir). stage(), publish() and gc()
 * run one at a time; gc() keeps whatever was written since the last stage() (a generation
 * being assembled), so it may run between fetches. Objects: _object_store.ts.
 */
import { ObjectStore } from "./_object_store.ts";
import { fileKey, parseFileKey } from "./_file_index.ts";
import { type GcResult, markAndSweep } from "./_store_gc.ts";
import { verifyGeneration } from "./_store_verify.ts";
import { DIRLINKS, materialize } from "./_materialize.ts";
import { type FileEntry, type Generation, type Hash, isHash, type Tree } from "./tree.ts";
import {
  cooperate,
  fsyncPath,
  isNotFound,
  lstatOrUndefined,
  removeIfPresent,
  SerialQueue,
} from "./_fs.ts";

export type { GcResult } from "./_store_gc.ts";

/** Where a host keeps its content store. */
export function contentRoot(stateDir: string): string {
  return `${stateDir}/content`;
}

const SUBDIRS = ["gens", "objects/trees", "files", "trees", DIRLINKS, "staging", "tmp"];

export class ContentStore extends ObjectStore {
  #gens = new Map<number, Generation>();
  #current: number | undefined;
  #exclusive = new SerialQueue();

  private constructor(root: string) {
    super(root);
  }

  /** Opens (creating if needed) the store at `root`: cleans up after a crash, loads the index. */
  static async open(root: string): Promise<ContentStore> {
    await Deno.mkdir(root, { recursive: true });
    const real = await Deno.realPath(root);
    for (const d of SUBDIRS) await Deno.mkdir(`${real}/${d}`, { recursive: true });
    const s = new ContentStore(real);
    await s.#recover();
    await s.#dropUnsynced();
    await s.loadFileIndex();
    return s;
  }

  // ── generations ──────────────────────────────────────────────────────────────────

  generations(): Generation[] {
    return [...this.#gens.values()].sort((a, b) => a.gen - b.gen);
  }

  generation(n: number): Generation | undefined {
    return this.#gens.get(n);
  }

  hasGeneration(n: number): boolean {
    return this.#gens.has(n);
  }

  /** The generation `current` points at, or undefined before the first publish. */
  current(): number | undefined {
    return this.#current;
  }

  /** `<root>/current`: the directory the web server serves. */
  publishedPath(): string {
    return `${this.root}/current`;
  }

  generationPath(n: number): string {
    return `${this.root}/gens/${n}`;
  }

  /**
   * What the store lacks of the tree at `root`: tree objects (the walk stops at them, so
   * ask again once they are stored) and files. Subtrees found complete are remembered and
   * skipped next time. Trees are read asynchronously, yielding to timers as it goes: a
   * first walk of a 100k-file tree takes a few hundred ms.
   */
  async findMissing(root: Hash): Promise<Missing> {
    const walk = missingWalk(root, this.complete, (e) => this.hasFile(e));
    let step = walk.next();
    while (!step.done) {
      const tree = await this.loadTree(step.value);
      await cooperate();
      step = walk.next(tree);
    }
    return step.value;
  }

  /**
   * Makes generation `g` ready to publish: every tree and file must be present; builds
   * its directories, makes all of it durable, then writes gens/N.json and gens/N.
   */
  stage(g: Generation): Promise<void> {
    return this.#exclusive.run(async () => {
      const have = this.#gens.get(g.gen);
      if (have) {
        if (have.root === g.root) return;
        throw new Error(
          `generation ${g.gen} is already staged with root ${have.root.slice(0, 12)}…, not ` +
            `${g.root.slice(0, 12)}…: a generation is never changed (offer a new number)`,
        );
      }
      const m = await this.findMissing(g.root);
      if (m.trees.length > 0 || m.files.length > 0) {
        throw new Error(
          `cannot stage generation ${g.gen}: ${m.trees.length} tree object(s) and ` +
            `${m.files.length} file(s) are missing from the store (fetch them first)`,
        );
      }
      const { key, created } = await materialize(this, g);
      const durable = await this.durabilityBarrier(created);
      try {
        await this.#record(g, key);
      } catch (e) {
        this.fresh.merge(durable); // not used by a staged generation yet: gc must keep them
        throw e;
      }
    });
  }

  /** Writes gens/N.json and gens/N -> ../trees/<key> (after the durability barrier). */
  async #record(g: Generation, key: string): Promise<void> {
    const json = this.tempPath("gen");
    await Deno.writeTextFile(json, JSON.stringify(g) + "\n");
    await fsyncPath(json);
    await Deno.rename(json, `${this.root}/gens/${g.gen}.json`);
    const link = this.tempPath("gen-link");
    await Deno.symlink(`../trees/${key}`, link);
    await Deno.rename(link, this.generationPath(g.gen));
    await fsyncPath(`${this.root}/gens`);
    this.#gens.set(g.gen, g);
  }

  /** Points `current` at staged generation `n` in one rename(2). */
  publish(n: number): Promise<void> {
    return this.#exclusive.run(async () => {
      if (!this.#gens.has(n)) {
        const have = this.generations().map((g) => g.gen).join(", ") || "none";
        throw new Error(`cannot publish generation ${n}: it is not staged here (staged: ${have})`);
      }
      const tmp = this.tempPath("current");
      await Deno.symlink(`gens/${n}`, tmp);
      await Deno.rename(tmp, this.publishedPath());
      await fsyncPath(this.root);
      this.#current = n;
    });
  }

  /**
   * Drops all generations but the newest `keep`, the current one and `pinned`, then
   * removes what none of the kept ones uses.
   */
  gc(keep: number, pinned: number[] = []): Promise<GcResult> {
    return this.#exclusive.run(async () => {
      const newest = this.generations().map((g) => g.gen).reverse().slice(0, Math.max(0, keep));
      const keepSet = new Set([...newest, ...pinned]);
      if (this.#current !== undefined) keepSet.add(this.#current);
      const dropped: number[] = [];
      for (const g of this.generations()) {
        if (keepSet.has(g.gen)) continue;
        await removeIfPresent(this.generationPath(g.gen));
        await removeIfPresent(`${this.root}/gens/${g.gen}.json`);
        this.#gens.delete(g.gen);
        dropped.push(g.gen);
      }
      if (dropped.length > 0) await fsyncPath(`${this.root}/gens`);
      const { result: r, marks } = await markAndSweep({
        root: this.root,
        loadTree: (h) => this.loadTree(h),
        isFresh: (name) => this.fresh.has(name),
        onFileRemoved: (name) => {
          const p = parseFileKey(name);
          if (p) this.files.remove(p.hash, p.suffix);
        },
      }, this.generations());
      if (r.files > 0) this.chunks.dropContent((h) => this.findContent(h) === undefined);
      for (const h of this.complete) if (!marks.trees.has(h)) this.complete.delete(h);
      return { generations: dropped, dirs: r.dirs, trees: r.trees, files: r.files, bytes: r.bytes };
    });
  }

  /** Problems found in staged generation `n` on disk ([] if none); `rehash` reads every file. */
  verify(n: number, opts: { rehash: boolean }): Promise<string[]> {
    const g = this.#gens.get(n);
    if (!g) return Promise.resolve([`generation ${n} is not staged here`]);
    return verifyGeneration(this, g, opts);
  }

  // ── internals ────────────────────────────────────────────────────────────────────

  /**
   * After a power cut while objects were not yet durable (the marker survived): drops all
   * that no staged generation uses, since any of it may be torn. Fetches and scans redo it.
   */
  async #dropUnsynced(): Promise<void> {
    if (!(await lstatOrUndefined(this.markerPath()))) return;
    await markAndSweep({
      root: this.root,
      loadTree: (h) => this.loadTree(h),
      isFresh: () => false,
      onFileRemoved: () => {},
    }, this.generations());
    await fsyncPath(this.root);
    await removeIfPresent(this.markerPath());
  }

  /** After a crash: empty tmp/, drop half-built directories and half-written records. */
  async #recover(): Promise<void> {
    await removeIfPresent(`${this.root}/tmp`);
    await Deno.mkdir(`${this.root}/tmp`);
    for await (const e of Deno.readDir(`${this.root}/trees`)) {
      if (e.name.includes(".tmp-")) await removeIfPresent(`${this.root}/trees/${e.name}`);
    }
    const names = new Set<string>();
    for await (const e of Deno.readDir(`${this.root}/gens`)) names.add(e.name);
    for (const name of names) {
      const m = /^(\d+)(\.json)?$/.exec(name);
      const g = m?.[2] && names.has(m[1])
        ? await readRecord(`${this.root}/gens/${name}`)
        : undefined;
      if (g && g.gen === Number(m![1])) this.#gens.set(g.gen, g);
      else if (!m || m[2]) await removeIfPresent(`${this.root}/gens/${name}`);
    }
    for (const name of names) {
      const m = /^(\d+)$/.exec(name);
      if (m && !this.#gens.has(Number(m[1]))) await removeIfPresent(`${this.root}/gens/${name}`);
    }
    try {
      const m = /^gens\/(\d+)$/.exec(await Deno.readLink(this.publishedPath()));
      if (m) this.#current = Number(m[1]);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}

export interface Missing {
  trees: Hash[];
  files: FileEntry[];
}

/**
 * The walk behind findMissing(): yields the hash of each tree it needs and
 * is resumed with that tree (or undefined if the store lacks it). Subtrees found
 * complete are added to `complete`.
 */
function* missingWalk(
  root: Hash,
  complete: Set<Hash>,
  hasFile: (e: FileEntry) => boolean,
): Generator<Hash, Missing, Tree | undefined> {
  const trees: Hash[] = [], files: FileEntry[] = [];
  const seenFiles = new Set<string>(), done = new Map<Hash, boolean>();
  function* walk(h: Hash): Generator<Hash, boolean, Tree | undefined> {
    if (complete.has(h)) return true;
    const known = done.get(h);
    if (known !== undefined) return known;
    const t = yield h;
    let ok = !!t;
    if (!t) trees.push(h);
    for (const e of t?.entries ?? []) {
      if (e.type === "dir") ok = (yield* walk(e.tree)) && ok;
      else if (e.type === "file" && !hasFile(e)) {
        ok = false;
        const k = fileKey(e);
        if (!seenFiles.has(k)) seenFiles.add(k), files.push(e);
      }
    }
    done.set(h, ok);
    if (ok) complete.add(h);
    return ok;
  }
  yield* walk(root);
  return { trees, files };
}

async function readRecord(path: string): Promise<Generation | undefined> {
  try {
    const g = JSON.parse(await Deno.readTextFile(path)) as Generation;
    return Number.isSafeInteger(g?.gen) && isHash(g.root) ? g : undefined;
  } catch {
    return undefined; // half-written: the generation was never staged
  }
}
