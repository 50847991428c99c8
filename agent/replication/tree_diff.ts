/**
 * What changed between two generations: added, removed, modified and renamed paths.
 *
 *   old root ──┬── same hash ─────────▶ skipped (never loaded)
 *              ├── only in old ───────▶ removed ─┐
 *              ├── only in new ───────▶ added ───┴─ same content ─▶ renamed
 *              └── in both, differs ──▶ modified (file/link) or descend (dir)
 *
 * Paths are relative ("img/a.png"); a directory added or removed whole is one path with
 * a trailing "/" ("img/") and is not expanded. A path whose entry turns from or into a
 * directory is a removal plus an addition ("x/" and "x"); a file turning into a link, or
 * the reverse, is a modification, and so is a directory whose own mode changed ("img/").
 *
 * Pure: trees come through `load`, which is called only for subtrees that differ.
 */
import { type Hash, type Tree, type TreeEntry, treeTotals } from "./tree.ts";
import { joinRel } from "./path_rules.ts";

export interface TreeDiff {
  added: string[];
  removed: string[];
  modified: string[];
  renamed: { from: string; to: string }[];
  filesBefore: number;
  filesAfter: number;
  /** Files removed, counting whole removed directories by their `files` total, renames excluded. */
  removedFiles: number;
}

interface Change {
  path: string;
  entry: TreeEntry;
}

export function diffTrees(
  oldRoot: Hash | null,
  newRoot: Hash,
  load: (h: Hash) => Tree,
): TreeDiff {
  const newTree = load(newRoot);
  const oldTree = oldRoot === null
    ? { entries: [] }
    : oldRoot === newRoot
    ? newTree
    : load(oldRoot);
  const gone: Change[] = [], born: Change[] = [], modified: string[] = [];
  if (oldRoot !== newRoot) walk(oldTree, newTree, "", load, gone, born, modified);

  const renamed: { from: string; to: string }[] = [];
  const byContent = new Map<string, Change[]>();
  for (const c of born) {
    const k = contentKey(c.entry), list = byContent.get(k);
    if (list) list.push(c);
    else byContent.set(k, [c]);
  }
  const taken = new Map<string, number>(), matched = new Set<Change>();
  const removed: string[] = [];
  let removedFiles = 0;
  for (const c of gone) {
    const k = contentKey(c.entry), i = taken.get(k) ?? 0, to = byContent.get(k)?.[i];
    if (to) {
      taken.set(k, i + 1);
      matched.add(to);
      renamed.push({ from: c.path, to: to.path });
      continue;
    }
    removed.push(c.path);
    removedFiles += c.entry.type === "file" ? 1 : c.entry.type === "dir" ? c.entry.files : 0;
  }
  return {
    added: born.filter((c) => !matched.has(c)).map((c) => c.path),
    removed,
    modified,
    renamed,
    filesBefore: treeTotals(oldTree).files,
    filesAfter: treeTotals(newTree).files,
    removedFiles,
  };
}

/** Compares two listings of the directory at `dir`, descending into differing subtrees. */
function walk(
  oldTree: Tree,
  newTree: Tree,
  dir: string,
  load: (h: Hash) => Tree,
  gone: Change[],
  born: Change[],
  modified: string[],
): void {
  const olds = new Map(oldTree.entries.map((e) => [e.name, e]));
  const news = new Map(newTree.entries.map((e) => [e.name, e]));
  const names = [...new Set([...olds.keys(), ...news.keys()])].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0
  );
  for (const name of names) {
    const o = olds.get(name), n = news.get(name);
    const path = joinRel(dir, name);
    if (o && n && o.type === "dir" && n.type === "dir") {
      if (o.mode !== n.mode) modified.push(path + "/");
      if (o.tree !== n.tree) walk(load(o.tree), load(n.tree), path, load, gone, born, modified);
    } else if (o && n && o.type !== "dir" && n.type !== "dir") {
      if (contentKey(o) !== contentKey(n) || !sameMeta(o, n)) modified.push(path);
    } else {
      if (o) gone.push({ path: o.type === "dir" ? path + "/" : path, entry: o });
      if (n) born.push({ path: n.type === "dir" ? path + "/" : path, entry: n });
    }
  }
}

/** What a rename must preserve: the file content, the directory tree or the link target. */
function contentKey(e: TreeEntry): string {
  return e.type === "file" ? `f:${e.hash}` : e.type === "dir" ? `d:${e.tree}` : `l:${e.target}`;
}

function sameMeta(a: TreeEntry, b: TreeEntry): boolean {
  if (a.type === "file" && b.type === "file") return a.mode === b.mode && a.mtimeMs === b.mtimeMs;
  return true;
}
