/**
 * Materialization: turns a generation's trees into real directories under trees/, which
 * the web server reads through `current`.
 *
 *   trees/<key>/                 one directory per (tree, mode), built bottom-up
 *     index.html   ══hardlink══▶ files/ab/<hash>.644.<mtime>
 *     img          ──symlink───▶ ../<key of img>       (a hard link of dirlinks/<key of img>)
 *     latest       ──symlink───▶ img/a.png                      (user link, verbatim)
 *     up           ──symlink───▶ <root>/gens/<N>/x              (user link climbing "..")
 *
 * A directory is assembled as trees/<key>.tmp-<random> and renamed into place, so
 * trees/<key> exists only complete; one that exists is reused, subtree and all.
 *
 * Keys: "<tree hash>.<mode octal>" (a mode lives in the parent's entry, so two
 * directories with one tree but two modes are two directories). A directory marked
 * `climbs` (a user link below it climbs above its own directory) gets a key unique to its
 * path and generation instead: its subdirectories are symlinks into trees/, so the kernel
 * would resolve a relative ".." physically, from trees/, to the wrong place; such a link
 * is written as an absolute path through gens/<N>, which differs per generation.
 */
import { joinRel, resolveLink } from "./path_rules.ts";
import {
  type FileEntry,
  type Generation,
  type Hash,
  hashBytes,
  type Tree,
  treeTotals,
} from "./tree.ts";
import { cooperate } from "./_fs.ts";
import { randomHex } from "../security/random_id.ts";

/** The mode of a generation's root directory (a Generation records none). */
export const ROOT_MODE = 0o755;

const utf8 = new TextEncoder();

/** The name under trees/ of a materialized directory (see the module comment). */
export function dirKey(
  tree: Hash,
  mode: number,
  climbs: boolean,
  rel: string,
  gen: number,
): string {
  const base = climbs ? hashBytes(utf8.encode(`${tree}\0${rel}\0${gen}`)) : tree;
  return `${base}.${mode.toString(8)}`;
}

/** What a symlink in directory `rel` of generation `gen` is written as on disk. */
export function diskLinkTarget(
  storeRoot: string,
  gen: number,
  rel: string,
  target: string,
): { ok: true; text: string; climbs: boolean } | { ok: false; reason: string } {
  const r = resolveLink(rel, target);
  if (!r.ok) return r;
  if (!r.climbs) return { ok: true, text: target, climbs: false };
  const text = `${storeRoot}/gens/${gen}${r.resolved === "" ? "" : `/${r.resolved}`}`;
  return { ok: true, text, climbs: true };
}

export interface MaterializeView {
  /** The store's root, absolute. */
  root: string;
  loadTree(h: Hash): Promise<Tree | undefined>;
  filePath(e: FileEntry): string;
}

/**
 * Builds every directory of `g` not yet under trees/. Returns the root's key and the
 * directories created (for the caller to fsync).
 */
export async function materialize(
  v: MaterializeView,
  g: Generation,
): Promise<{ key: string; created: string[] }> {
  const created: string[] = [];
  const rootTree = await v.loadTree(g.root);
  if (!rootTree) {
    throw new Error(`cannot stage generation ${g.gen}: root tree ${g.root} is missing`);
  }
  const climbs = treeTotals(rootTree).climbs;
  const key = await build(v, g.gen, g.root, ROOT_MODE, climbs, "", created, rootTree);
  return { key, created };
}

async function build(
  v: MaterializeView,
  gen: number,
  hash: Hash,
  mode: number,
  climbs: boolean,
  rel: string,
  created: string[],
  tree?: Tree,
): Promise<string> {
  const key = dirKey(hash, mode, climbs, rel, gen);
  const final = `${v.root}/trees/${key}`;
  // Synchronous (~3 µs): a directory of 1000 unchanged subdirectories asks 1000 times.
  if (existsSync(final)) return key;
  tree ??= await v.loadTree(hash);
  const where = rel === "" ? "the root" : JSON.stringify(rel);
  if (!tree) throw new Error(`cannot stage generation ${gen}: tree ${hash} of ${where} is missing`);

  const subKeys = new Map<string, string>();
  for (const e of tree.entries) {
    if (e.type !== "dir") continue;
    const sub = joinRel(rel, e.name);
    subKeys.set(e.name, await build(v, gen, e.tree, e.mode, !!e.climbs, sub, created));
  }
  await cooperate();

  const tmp = `${final}.tmp-${randomHex(4)}`;
  await Deno.mkdir(tmp);
  // Synchronous link(2)/symlink(2): a few µs each against ~40 µs as async ops, for
  // 100k-entry trees; cooperate() between entries keeps timers on time.
  for (const e of tree.entries) {
    const at = `${tmp}/${e.name}`;
    if (e.type === "file") await linkOrCopy(v.filePath(e), at, e);
    else if (e.type === "dir") linkSubdir(v.root, subKeys.get(e.name)!, at, created);
    else {
      const link = diskLinkTarget(v.root, gen, rel, e.target);
      const path = joinRel(rel, e.name);
      if (!link.ok) throw new Error(`cannot stage generation ${gen}: ${path}: ${link.reason}`);
      if (link.climbs && !climbs) {
        throw new Error(
          `cannot stage generation ${gen}: symlink ${path} climbs above its directory but ` +
            `the tree does not mark it (tree ${hash}): the exporter's tree is inconsistent`,
        );
      }
      Deno.symlinkSync(link.text, at);
    }
    await cooperate();
  }
  await Deno.chmod(tmp, mode);
  try {
    await Deno.rename(tmp, final);
  } catch (e) {
    // Another build of the same key won (rename(2) onto a non-empty directory fails).
    await Deno.remove(tmp, { recursive: true });
    if (!existsSync(final)) throw e;
    return key;
  }
  created.push(final);
  return key;
}

/** Under the store's root: one symlink inode per subdirectory key (see linkSubdir). */
export const DIRLINKS = "dirlinks";

/**
 * Makes `at` a subdirectory entry `-> ../<key>`: a hard link to the symlink inode
 * dirlinks/<key>, made on first use. The target is relative, so it resolves from any
 * trees/<parent>/. A change in a directory rebuilds it whole, and on this ext4 1000 new
 * symlinks took 190-280 ms against 6-7 ms for 1000 links (measured): a small change under
 * a directory of 1000 subdirectories staged in 350-530 ms, now ~20 ms. A new inode puts
 * dirlinks/ in `created`, to be fsynced with the rest; past the filesystem's link limit
 * (EMLINK), a symlink of its own.
 */
function linkSubdir(root: string, key: string, at: string, created: string[]): void {
  const pooled = `${root}/${DIRLINKS}/${key}`;
  try {
    return Deno.linkSync(pooled, at);
  } catch (e) {
    if (/os error 31\b/.test(String(e))) return Deno.symlinkSync(`../${key}`, at); // EMLINK
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  Deno.symlinkSync(`../${key}`, pooled);
  const dir = `${root}/${DIRLINKS}`;
  if (!created.includes(dir)) created.push(dir);
  Deno.linkSync(pooled, at);
}

/** Whether `path` exists (lstat: a symlink counts, whatever it points to). */
function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Hardlinks an inode into place; past the filesystem's link limit, a copy of it. */
async function linkOrCopy(src: string, at: string, e: FileEntry): Promise<void> {
  try {
    Deno.linkSync(src, at);
  } catch (err) {
    if (!/os error 31\b/.test(String(err))) throw err; // EMLINK
    await Deno.copyFile(src, at);
    await Deno.chmod(at, e.mode);
    await Deno.utime(at, new Date(e.mtimeMs), new Date(e.mtimeMs));
  }
}
