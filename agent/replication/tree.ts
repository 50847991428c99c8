/**
 * Content-addressed trees: the Merkle form of a published generation.
 *
 *   generation N ──root──▶ Tree(hash R)
 *                            ├─ FileEntry "index.html"  hash=H1 (whole-file SHA-256)
 *                            ├─ DirEntry  "img"         tree=T2 ──▶ Tree(hash T2) ─ …
 *                            └─ LinkEntry "latest"      target="img/a.png"
 *
 * A tree lists one directory, its entries sorted by name (UTF-16 code unit order, which
 * is what `<` on strings gives). Its hash is the SHA-256 of its canonical encoding, so two
 * directories with the same entries share one hash wherever they sit: a rename only
 * writes new trees along the two paths, and moves no file content.
 *
 * A file's content is addressed by the SHA-256 of the whole file. Files larger than the
 * chunker's minimum are also split by content-defined chunking (chunker.ts); `chunks`
 * lists them in order, so an importer fetches only the chunks it lacks. A file without
 * `chunks` is a single chunk whose hash is `hash`.
 *
 * Pure: no I/O. node:crypto's SHA-256 is deterministic.
 */
import { createHash } from "node:crypto";

/** A SHA-256 digest as 64 lowercase hex characters. */
export type Hash = string;

export interface ChunkRef {
  hash: Hash;
  size: number;
}

export interface FileEntry {
  name: string;
  type: "file";
  /** Permission bits (0o7777 at most). */
  mode: number;
  size: number;
  /** Modification time, whole milliseconds since the epoch. */
  mtimeMs: number;
  /** SHA-256 of the whole content. */
  hash: Hash;
  /** The content-defined chunks, in order; absent when the file is one chunk (= `hash`). */
  chunks?: ChunkRef[];
}

export interface DirEntry {
  name: string;
  type: "dir";
  mode: number;
  /** Hash of the subdirectory's tree. */
  tree: Hash;
  /** Files and bytes in the whole subtree (for progress and the mass-deletion guard). */
  files: number;
  bytes: number;
  /** True when a symlink in the subtree climbs above its own directory (see tree_store). */
  climbs?: boolean;
}

export interface LinkEntry {
  name: string;
  type: "symlink";
  /** The link's target exactly as written; path_rules.ts checks it stays in the tree. */
  target: string;
}

export type TreeEntry = FileEntry | DirEntry | LinkEntry;

export interface Tree {
  entries: TreeEntry[];
}

/** A published generation: a number, a root tree and what it took to make. */
export interface Generation {
  gen: number;
  root: Hash;
  /** The generation this one was made from (0 for the first). */
  parent: number;
  /** Wall-clock ms when the exporter made it. */
  createdMs: number;
  /** Host id of the exporter that made it. */
  exporter: number;
  files: number;
  bytes: number;
  /** Set when this generation re-publishes an older one (a rollback). */
  rollbackOf?: number;
  /** What changed since `parent` (tree_diff.ts counts). */
  changes?: { added: number; modified: number; removed: number; renamed: number };
}

/**
 * The canonical bytes of a tree: JSON with the entries sorted by name and each entry's
 * keys in a fixed order, so equal trees give equal bytes on every host.
 */
export function encodeTree(tree: Tree): Uint8Array {
  const entries = [...tree.entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(canonicalEntry);
  return new TextEncoder().encode(JSON.stringify({ entries }));
}

export function decodeTree(bytes: Uint8Array): Tree {
  const t = JSON.parse(new TextDecoder().decode(bytes)) as Tree;
  if (!t || !Array.isArray(t.entries)) throw new Error("not a tree: no entries list");
  return t;
}

export function hashBytes(bytes: Uint8Array): Hash {
  return createHash("sha256").update(bytes).digest("hex");
}

export function hashTree(tree: Tree): Hash {
  return hashBytes(encodeTree(tree));
}

/** Files and bytes of a tree, counting subtrees by their recorded totals. */
export function treeTotals(tree: Tree): { files: number; bytes: number; climbs: boolean } {
  let files = 0, bytes = 0, climbs = false;
  for (const e of tree.entries) {
    if (e.type === "file") files++, bytes += e.size;
    else if (e.type === "dir") {
      files += e.files, bytes += e.bytes;
      if (e.climbs) climbs = true;
    }
  }
  return { files, bytes, climbs };
}

const HASH_RE = /^[0-9a-f]{64}$/;
export function isHash(s: unknown): s is Hash {
  return typeof s === "string" && HASH_RE.test(s);
}

function canonicalEntry(e: TreeEntry): TreeEntry {
  switch (e.type) {
    case "file": {
      const f: FileEntry = {
        name: e.name,
        type: "file",
        mode: e.mode,
        size: e.size,
        mtimeMs: e.mtimeMs,
        hash: e.hash,
      };
      if (e.chunks && e.chunks.length > 0) {
        f.chunks = e.chunks.map((c) => ({ hash: c.hash, size: c.size }));
      }
      return f;
    }
    case "dir": {
      const d: DirEntry = {
        name: e.name,
        type: "dir",
        mode: e.mode,
        tree: e.tree,
        files: e.files,
        bytes: e.bytes,
      };
      if (e.climbs) d.climbs = true;
      return d;
    }
    case "symlink":
      return { name: e.name, type: "symlink", target: e.target };
  }
}
