/**
 * What the content store wrote since its last stage: tree objects and file inodes. gc
 * keeps them (they belong to a generation being assembled) and the next stage's
 * durability barrier makes them durable.
 *
 * Files are kept as (hash, suffix) pairs in a FileIndex, sharing the hash strings of the
 * store's own index and the pooled suffixes (_file_index.ts): ~30 bytes a file, against
 * ~120 for a key string of its own (12 MB at the memory peak of a 100k-file sync).
 */
import { FileIndex, parseFileKey } from "./_file_index.ts";
import type { Hash } from "./tree.ts";

export class FreshObjects {
  readonly #trees = new Set<Hash>();
  readonly #files = new FileIndex();

  addTree(h: Hash): void {
    this.#trees.add(h);
  }

  addFile(hash: Hash, suffix: string): void {
    this.#files.add(hash, suffix);
  }

  get size(): number {
    return this.#trees.size + this.#files.size;
  }

  /** A tree hash or a files/ name (`<hash><suffix>`), as gc lists them. */
  has(name: string): boolean {
    const k = parseFileKey(name);
    return k ? this.#files.has(k.hash, k.suffix) : this.#trees.has(name);
  }

  /** The tree hashes held. */
  trees(): Iterable<Hash> {
    return this.#trees;
  }

  /** The file inodes held, as (hash, suffix). */
  files(): Iterable<[Hash, string]> {
    return this.#files;
  }

  /** Takes in everything of `other` (a barrier's objects, when their stage failed). */
  merge(other: FreshObjects): void {
    for (const h of other.#trees) this.#trees.add(h);
    for (const [hash, suffix] of other.#files) this.#files.add(hash, suffix);
  }
}
