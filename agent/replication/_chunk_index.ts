/**
 * The content store's chunk index: chunk hash → where its bytes sit in an installed file,
 *
 *   3f9a…  ──▶  { content: <file hash>, offset: 131072, size: 70221 }
 *
 * so an importer rebuilding a changed file takes the chunks it already has from the old
 * version instead of the network. The location names content, not an inode: any
 * installed inode with that content (whatever its mode and mtime) serves it. Built on first use from the files of the kept
 * generations (a walk of their trees), then kept current by every install. Files of one
 * chunk are not listed: their chunk hash is the file hash, which the file index answers.
 * Entries are hints: the store re-hashes what it reads and forgets an entry that lies.
 */
import type { FileEntry, Hash } from "./tree.ts";

export interface ChunkLoc {
  /** The whole-file hash of a file holding the chunk. */
  content: Hash;
  offset: number;
  size: number;
  /** Read once and found to match (ObjectStore.readChunk then trusts it while the inode is untouched). */
  checked?: boolean;
}

export class ChunkIndex {
  #map = new Map<Hash, ChunkLoc>();
  #build: Promise<void> | undefined;
  /** Calls `add` for every installed file of the kept generations. */
  readonly #scan: (add: (e: FileEntry) => void) => Promise<void>;

  constructor(scan: (add: (e: FileEntry) => void) => Promise<void>) {
    this.#scan = scan;
  }

  /** Indexes the chunks of an installed file (files of one chunk are skipped). */
  addFile(e: FileEntry): void {
    if (!e.chunks || e.chunks.length < 2) return;
    let offset = 0;
    for (const c of e.chunks) {
      if (!this.#map.has(c.hash)) this.#map.set(c.hash, { content: e.hash, offset, size: c.size });
      offset += c.size;
    }
  }

  async lookup(hash: Hash): Promise<ChunkLoc | undefined> {
    if (!this.#build) {
      this.#build = this.#scan((e) => this.addFile(e));
      this.#build.catch(() => this.#build = undefined);
    }
    await this.#build;
    return this.#map.get(hash);
  }

  forget(hash: Hash): void {
    this.#map.delete(hash);
  }

  /** Drops every entry pointing into content for which `gone(content)` holds. */
  dropContent(gone: (content: Hash) => boolean): void {
    for (const [h, loc] of this.#map) if (gone(loc.content)) this.#map.delete(h);
  }
}
