/**
 * The content store's in-memory index of `files/`: content hash → the inodes present for
 * it, each named by its suffix ".<mode octal>.<mtimeMs>". Loaded once at open and kept in
 * step by install and gc, so `hasFile`/`findContent` never touch the disk (a 100k-file
 * tree is ~12 MB here, against 100k stat calls per check).
 */
import type { FileEntry, Hash } from "./tree.ts";

/** The name of a file's inode under files/<h[0:2]>/: one per (content, mode, mtime). */
export function fileKey(e: Pick<FileEntry, "hash" | "mode" | "mtimeMs">): string {
  return `${e.hash}${fileSuffix(e)}`;
}

export function fileSuffix(e: Pick<FileEntry, "mode" | "mtimeMs">): string {
  return `.${e.mode.toString(8)}.${e.mtimeMs}`;
}

const NAME_RE = /^([0-9a-f]{64})(\.[0-7]{1,4}\.-?\d+)$/;

/** Splits a files/ name into hash and suffix, or undefined for anything else. */
export function parseFileKey(name: string): { hash: Hash; suffix: string } | undefined {
  const m = NAME_RE.exec(name);
  return m ? { hash: m[1], suffix: m[2] } : undefined;
}

/** Distinct suffixes pooled at most; past it the pool starts over. */
export const SUFFIX_POOL_MAX = 1 << 16;

/**
 * One string per distinct suffix, for every FileIndex of the process (the store's own and
 * its FreshObjects hold the same instances). The files of a tree share a few (mode, mtime)
 * pairs (a 100k-file tree: 405), and each suffix held on its own, built by concatenation or
 * cut from a file name, kept ~80 B alive per file: ~8 MB of the exporter's 44 MB heap.
 */
const suffixes = new Map<string, string>();

/** The pooled copy of `suffix`. */
function internSuffix(suffix: string): string {
  const have = suffixes.get(suffix);
  if (have !== undefined) return have;
  if (suffixes.size >= SUFFIX_POOL_MAX) suffixes.clear();
  // A flat copy: not a concatenation, nor a slice that keeps a whole file name alive.
  const flat = JSON.parse(JSON.stringify(suffix)) as string;
  suffixes.set(flat, flat);
  return flat;
}

export class FileIndex {
  /** One suffix as a string (the usual case), several as an array. */
  #m = new Map<Hash, string | string[]>();
  #size = 0;

  /** (hash, suffix) pairs held. */
  get size(): number {
    return this.#size;
  }

  add(hash: Hash, suffix: string): void {
    suffix = internSuffix(suffix);
    const v = this.#m.get(hash);
    if (v === undefined) this.#m.set(hash, suffix);
    else if (typeof v === "string") {
      if (v === suffix) return;
      this.#m.set(hash, [v, suffix]);
    } else if (!v.includes(suffix)) v.push(suffix);
    else return;
    this.#size++;
  }

  *[Symbol.iterator](): Iterator<[Hash, string]> {
    for (const [hash, v] of this.#m) {
      if (typeof v === "string") yield [hash, v];
      else for (const suffix of v) yield [hash, suffix];
    }
  }

  has(hash: Hash, suffix: string): boolean {
    const v = this.#m.get(hash);
    return v === suffix || (Array.isArray(v) && v.includes(suffix));
  }

  /** Some suffix present for `hash`, or undefined. */
  any(hash: Hash): string | undefined {
    const v = this.#m.get(hash);
    return typeof v === "string" ? v : v?.[0];
  }

  remove(hash: Hash, suffix: string): void {
    const v = this.#m.get(hash);
    if (v === suffix) this.#m.delete(hash), this.#size--;
    else if (Array.isArray(v) && v.includes(suffix)) {
      const rest = v.filter((s) => s !== suffix);
      this.#size--;
      if (rest.length === 0) this.#m.delete(hash);
      else this.#m.set(hash, rest.length === 1 ? rest[0] : rest);
    }
  }
}
