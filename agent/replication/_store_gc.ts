/**
 * Mark and sweep of the content store, once the generations to drop are unlinked:
 *
 *   mark:  walk the trees of every kept generation → tree objects, file inodes and
 *          materialized directory keys in use
 *   sweep: trees/<key> (links inside are unlinked, never followed), dirlinks/<key>,
 *          objects/trees/, files/ — all that is unmarked and not `fresh` (written since
 *          the last stage, i.e. belonging to a generation being assembled);
 *          staging/*.part untouched for a day (an abandoned fetch)
 */
import { dirKey, DIRLINKS, ROOT_MODE } from "./_materialize.ts";
import { fileKey } from "./_file_index.ts";
import { joinRel } from "./path_rules.ts";
import { type Generation, type Hash, type Tree, treeTotals } from "./tree.ts";
import { cooperate, isNotFound, removeIfPresent } from "./_fs.ts";

export interface GcView {
  root: string;
  loadTree(h: Hash): Promise<Tree | undefined>;
  /** True for a tree hash or file key written since the last stage. */
  isFresh(name: string): boolean;
  onFileRemoved(name: string): void;
}

export interface GcResult {
  /** Generations dropped (filled in by the store). */
  generations: number[];
  /** Materialized directories, tree objects and file inodes removed. */
  dirs: number;
  trees: number;
  files: number;
  /** Bytes of the removed file inodes. */
  bytes: number;
}

export interface GcMarks {
  trees: Set<Hash>;
  files: Set<string>;
  dirs: Set<string>;
}

const PART_MAX_AGE_MS = 24 * 3600_000;

export async function markAndSweep(
  v: GcView,
  kept: Generation[],
): Promise<{ result: GcResult; marks: GcMarks }> {
  const marks = await mark(v, kept);
  const r: GcResult = { generations: [], dirs: 0, trees: 0, files: 0, bytes: 0 };
  for (const name of await list(`${v.root}/trees`)) {
    if (marks.dirs.has(name)) continue;
    await removeIfPresent(`${v.root}/trees/${name}`);
    r.dirs++;
    await cooperate();
  }
  for (const name of await list(`${v.root}/${DIRLINKS}`)) {
    if (!marks.dirs.has(name)) await removeIfPresent(`${v.root}/${DIRLINKS}/${name}`);
  }
  const keepTree = (name: string) => marks.trees.has(name) || v.isFresh(name);
  r.trees = await sweepSharded(`${v.root}/objects/trees`, keepTree, removeIfPresent);
  const keepFile = (name: string) => marks.files.has(name) || v.isFresh(name);
  r.files = await sweepSharded(`${v.root}/files`, keepFile, async (path, name) => {
    try {
      r.bytes += (await Deno.lstat(path)).size;
      await Deno.remove(path);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    v.onFileRemoved(name);
  });
  const now = Date.now();
  for (const name of await list(`${v.root}/staging`)) {
    const st = await Deno.lstat(`${v.root}/staging/${name}`).catch(() => undefined);
    const age = now - (st?.mtime?.getTime() ?? now);
    if (age > PART_MAX_AGE_MS) await removeIfPresent(`${v.root}/staging/${name}`);
  }
  return { result: r, marks };
}

/** Removes every entry of `dir`/<prefix>/ that `keep` refuses; returns how many. */
async function sweepSharded(
  dir: string,
  keep: (name: string) => boolean,
  remove: (path: string, name: string) => Promise<void>,
): Promise<number> {
  let removed = 0;
  for (const prefix of await list(dir)) {
    for (const name of await list(`${dir}/${prefix}`)) {
      if (keep(name)) continue;
      await remove(`${dir}/${prefix}/${name}`, name);
      removed++;
      await cooperate();
    }
    await cooperate();
  }
  return removed;
}

async function mark(v: GcView, kept: Generation[]): Promise<GcMarks> {
  const m: GcMarks = { trees: new Set(), files: new Set(), dirs: new Set() };
  const walk = async (
    hash: Hash,
    mode: number,
    climbs: boolean,
    rel: string,
    gen: number,
    tree?: Tree,
  ) => {
    const key = dirKey(hash, mode, climbs, rel, gen);
    if (m.dirs.has(key)) return;
    m.dirs.add(key);
    m.trees.add(hash);
    tree ??= await v.loadTree(hash);
    if (!tree) return; // a damaged generation: keep what it still reaches
    await cooperate();
    for (const e of tree.entries) {
      if (e.type === "file") m.files.add(fileKey(e));
      else if (e.type === "dir") {
        await walk(e.tree, e.mode, !!e.climbs, joinRel(rel, e.name), gen);
      }
    }
  };
  for (const g of kept) {
    const root = await v.loadTree(g.root);
    m.trees.add(g.root);
    if (!root) continue;
    await walk(g.root, ROOT_MODE, treeTotals(root).climbs, "", g.gen, root);
  }
  return m;
}

async function list(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) names.push(e.name);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  return names;
}
