/**
 * The importer's side of a sync: makes files present in the content store, taking as
 * little as possible from the network.
 *
 *   for each file not in the store, grouped by content:
 *     same content installed (another mode/mtime/path) ─▶ copy that inode      (local)
 *     else, staging/<hash>.part, chunk by chunk:
 *       already in a leftover .part (re-hashed)       ─▶ kept                   (local)
 *       in another installed file (chunk index)       ─▶ copied at its offset   (local,
 *                                                        files of several chunks)
 *       else                                          ─▶ fetched, deduplicated across all
 *                                                        files, ≤ batchBytes per request,
 *                                                        `parallel` requests at once
 *     all chunks written ─▶ whole-file SHA-256 ─▶ installFile (rename into files/)
 *
 * Files of one chunk skip the .part: their bytes are written once and installed (not
 * hashed again when the chunk hash is the file hash: it was verified on arrival). Files of
 * several chunks up to IN_MEMORY_FILE_BYTES with no leftover .part are assembled in a
 * buffer (IN_MEMORY_BUDGET_BYTES in all, past it a .part), hashed once and installed
 * without the .part's open/seek/write per chunk and the re-read; if the run fails, those
 * still incomplete are written to their .part, so a retry resumes them. A file finished
 * is installed at once, so an interrupted sync keeps its progress.
 */
import type { ContentStore } from "./content_store.ts";
import { type ChunkRef, type FileEntry, type Hash, hashBytes } from "./tree.ts";
import {
  cooperate,
  hashFile,
  lstatOrUndefined,
  mapLimit,
  readFull,
  removeIfPresent,
  TaskPool,
  writeAll,
} from "./_fs.ts";

/** Yields hash-verified chunks, possibly fewer than asked (the assembler reports the rest missing). */
export type ChunkFetcher = (hashes: Hash[]) => AsyncIterable<{ hash: Hash; bytes: Uint8Array }>;

export interface InstallProgress {
  /** Bytes of file content made present so far (fetched or found locally). */
  bytesDone: number;
  chunksDone: number;
  filesDone: number;
}

export interface InstallOptions {
  /** Largest request to the fetcher: default 4 MiB. */
  batchBytes?: number;
  /** Requests in flight: default 4. */
  parallel?: number;
  onProgress?(p: InstallProgress): void;
}

export interface InstallResult {
  fetchedBytes: number;
  fetchedChunks: number;
  /** Bytes that came from the store itself: copies, known chunks, leftover .part files. */
  localBytes: number;
}

/** Multi-chunk files up to this size are assembled in memory rather than in a .part file. */
export const IN_MEMORY_FILE_BYTES = 1 << 20;
/** Bytes of files being assembled in memory at once; past it, files go through a .part. */
export const IN_MEMORY_BUDGET_BYTES = 32 << 20;

/** At most this many chunks per request, whatever their size. */
const MAX_BATCH_CHUNKS = 1024;
/** Files being finished (hashed, installed) at once. */
const FINISHING = 16;

interface Group {
  hash: Hash;
  size: number;
  /** Entries wanting this content, one per distinct (mode, mtime); the first is assembled. */
  entries: FileEntry[];
  chunks: ChunkRef[];
  /** Chunks not written yet. */
  left: number;
  /** Small, no leftover .part: assembled in a buffer, allocated at its first chunk. */
  memory?: boolean;
  buffer?: Uint8Array;
}

interface Want {
  size: number;
  targets: { group: Group; offset: number }[];
  done: boolean;
}

export async function installFiles(
  store: ContentStore,
  entries: FileEntry[],
  fetch: ChunkFetcher,
  opts: InstallOptions = {},
): Promise<InstallResult> {
  const a = new Assembly(store, opts);
  try {
    await a.run(entries, fetch);
  } catch (e) {
    // Whatever failed, files still being assembled in memory go to their .part (a retry
    // resumes them).
    await a.pool.drain().catch(() => {});
    await a.spill().catch(() => {});
    throw e;
  }
  return a.result;
}

class Assembly {
  readonly result: InstallResult = { fetchedBytes: 0, fetchedChunks: 0, localBytes: 0 };
  readonly pool = new TaskPool(FINISHING);
  #progress: InstallProgress = { bytesDone: 0, chunksDone: 0, filesDone: 0 };
  #wants = new Map<Hash, Want>();
  #inMemory = 0;
  #buffered = new Set<Group>();
  readonly #store: ContentStore;
  readonly #opts: InstallOptions;

  constructor(store: ContentStore, opts: InstallOptions) {
    this.#store = store;
    this.#opts = opts;
  }

  async run(entries: FileEntry[], fetch: ChunkFetcher): Promise<void> {
    const groups = new Map<Hash, Group>(), keys = new Set<string>();
    for (const e of entries) {
      const k = this.#store.fileKey(e);
      if (keys.has(k) || this.#store.hasFile(e)) continue;
      keys.add(k);
      const g = groups.get(e.hash);
      if (g) g.entries.push(e);
      else groups.set(e.hash, newGroup(e));
    }
    await mapLimit([...groups.values()], 8, (g) => this.#plan(g));
    const batches = this.#batches();
    await mapLimit(batches, this.#opts.parallel ?? 4, async (batch) => {
      for await (const c of fetch(batch)) {
        const w = this.#wants.get(c.hash);
        if (!w || w.done || c.bytes.length !== w.size) continue;
        w.done = true;
        this.result.fetchedBytes += w.size, this.result.fetchedChunks++;
        await this.#deliver(w, c.bytes);
      }
    });
    await this.pool.drain();
    const missing = [...this.#wants].filter(([, w]) => !w.done);
    if (missing.length > 0) {
      const files = new Set(missing.flatMap(([, w]) => w.targets.map((t) => t.group.hash))).size;
      throw new Error(
        `${missing.length} chunk(s) of ${files} file(s) were not delivered by any source ` +
          `(first: ${missing[0][0]}); files already complete are installed and partial ones ` +
          `kept in staging/, so a retry fetches only the rest`,
      );
    }
  }

  /** Finds what is local for one content; registers the rest as wanted. */
  async #plan(g: Group): Promise<void> {
    const s = this.#store;
    if (s.findContent(g.hash) || g.size === 0) return await this.#finish(g, undefined);
    const have = new Array<boolean>(g.chunks.length).fill(false);
    const offsets: number[] = [];
    g.chunks.reduce((off, c) => (offsets.push(off), off + c.size), 0);
    if (g.chunks.length > 1) {
      await this.#openPart(g, have);
      if (g.left === 0) return await this.pool.add(() => this.#finish(g, undefined));
    }
    // A file of one chunk was looked for whole above. Only files of several chunks ask the
    // chunk index: an edit leaves most of their chunks in the old version, while building
    // the index reads every kept tree (~1 s at 100k files) for a small file's sake.
    const several = g.chunks.length > 1;
    for (let i = 0; i < g.chunks.length; i++) {
      if (have[i]) continue;
      const c = g.chunks[i];
      const bytes = several ? await s.readChunk(c.hash) : undefined;
      await cooperate();
      if (bytes) {
        this.result.localBytes += c.size;
        await this.#write(g, offsets[i], bytes);
        continue;
      }
      const target = { group: g, offset: offsets[i] };
      const w = this.#wants.get(c.hash);
      if (w) w.targets.push(target);
      else this.#wants.set(c.hash, { size: c.size, targets: [target], done: false });
    }
  }

  /**
   * Reuses a leftover .part of the right size (its good chunks count as written), or
   * makes a new one; a small file without one is assembled in memory instead (see #write).
   */
  async #openPart(g: Group, have: boolean[]): Promise<void> {
    const part = this.#store.stagingPath(g.hash);
    const st = await lstatOrUndefined(part);
    if (!st && g.size <= IN_MEMORY_FILE_BYTES) return void (g.memory = true);
    if (st?.isFile && st.size === g.size) {
      const f = await Deno.open(part, { read: true });
      try {
        for (let i = 0; i < g.chunks.length; i++) {
          const c = g.chunks[i], bytes = await readFull(f, c.size);
          if (bytes && hashBytes(bytes) === c.hash) {
            have[i] = true, g.left--;
            this.result.localBytes += c.size;
            this.#advance(c.size);
          }
          await cooperate();
        }
      } finally {
        f.close();
      }
      return;
    }
    const f = await Deno.open(part, { write: true, create: true, truncate: true });
    try {
      await f.truncate(g.size);
    } finally {
      f.close();
    }
  }

  async #deliver(w: Want, bytes: Uint8Array): Promise<void> {
    for (const t of w.targets) await this.#write(t.group, t.offset, bytes);
    await cooperate();
  }

  /** Writes one chunk of `g`; the last one written hands the file to the pool to finish. */
  async #write(g: Group, offset: number, bytes: Uint8Array): Promise<void> {
    if (g.chunks.length === 1) {
      g.left--;
      this.#advance(bytes.length);
      return await this.pool.add(() => this.#finish(g, bytes));
    }
    if (g.memory && !g.buffer && this.#inMemory + g.size <= IN_MEMORY_BUDGET_BYTES) {
      g.buffer = new Uint8Array(g.size);
      this.#inMemory += g.size;
      this.#buffered.add(g);
    }
    if (g.buffer) {
      g.buffer.set(bytes, offset);
      this.#advance(bytes.length);
      if (--g.left === 0) {
        const whole = g.buffer;
        this.#release(g);
        await this.pool.add(() => this.#finish(g, whole, true));
      }
      return;
    }
    // A small file over the memory budget has no .part yet: its last chunk sets its size.
    const f = await Deno.open(this.#store.stagingPath(g.hash), { write: true, create: g.memory });
    try {
      await f.seek(offset, Deno.SeekMode.Start);
      await writeAll(f, bytes);
    } finally {
      f.close();
    }
    this.#advance(bytes.length);
    if (--g.left === 0) await this.pool.add(() => this.#finish(g, undefined));
  }

  /**
   * Installs every entry of `g`: from `bytes` (one chunk, or the file assembled in memory
   * when `assembled`), the .part, or an installed copy. Bytes of a one-chunk file whose
   * chunk hash is the file hash were verified on arrival and are not hashed again.
   */
  async #finish(g: Group, bytes: Uint8Array | undefined, assembled = false): Promise<void> {
    const s = this.#store, [first, ...rest] = g.entries;
    let src = s.findContent(g.hash);
    const copies = src ? g.entries : rest;
    if (src) this.result.localBytes += g.size * g.entries.length;
    else if (bytes || g.size === 0) {
      bytes ??= new Uint8Array(0);
      const verified = g.chunks.length === 1 && g.chunks[0].hash === g.hash;
      const got = verified ? g.hash : hashBytes(bytes);
      if (got !== g.hash && assembled) {
        throw new Error(
          `file ${g.hash} assembled from its ${g.chunks.length} chunks hashes to ${got}: the ` +
            `tree's chunk list is wrong (a fault of the exporter)`,
        );
      }
      if (got !== g.hash) throw new Error(`chunk ${g.hash} does not match its hash`);
      await s.installBytes(first, bytes);
      await cooperate();
    } else {
      const part = s.stagingPath(g.hash);
      const got = await hashFile(part);
      if (got !== g.hash) {
        await removeIfPresent(part);
        throw new Error(
          `file ${g.hash} assembled from its ${g.chunks.length} chunks hashes to ${got}: the ` +
            `tree's chunk list is wrong (a fault of the exporter); deleted ${part}`,
        );
      }
      await s.installFile(first, part);
    }
    src ??= s.filePath(first);
    for (const e of copies) await s.installCopy(e, src);
    this.#progress.filesDone += g.entries.length;
    this.#opts.onProgress?.({ ...this.#progress });
  }

  #release(g: Group): void {
    if (!g.buffer) return;
    this.#inMemory -= g.size;
    this.#buffered.delete(g);
    g.buffer = undefined;
  }

  /** Writes the files still being assembled in memory to their .part files (for a retry). */
  async spill(): Promise<void> {
    for (const g of [...this.#buffered]) {
      const bytes = g.buffer!;
      this.#release(g);
      await Deno.writeFile(this.#store.stagingPath(g.hash), bytes);
    }
  }

  #advance(bytes: number): void {
    this.#progress.bytesDone += bytes, this.#progress.chunksDone++;
    this.#opts.onProgress?.({ ...this.#progress });
  }

  /** The wanted chunks in ≤ batchBytes (and ≤ MAX_BATCH_CHUNKS) requests, in file order. */
  #batches(): Hash[][] {
    const limit = this.#opts.batchBytes ?? 4 << 20;
    const out: Hash[][] = [];
    let cur: Hash[] = [], bytes = 0;
    for (const [h, w] of this.#wants) {
      if (cur.length > 0 && (bytes + w.size > limit || cur.length >= MAX_BATCH_CHUNKS)) {
        out.push(cur), cur = [], bytes = 0;
      }
      cur.push(h), bytes += w.size;
    }
    if (cur.length > 0) out.push(cur);
    return out;
  }
}

/** A file's chunks as the tree lists them; a file without `chunks` is one (or, empty, none). */
function newGroup(e: FileEntry): Group {
  let chunks: ChunkRef[] = [];
  if (e.chunks?.length) chunks = e.chunks;
  else if (e.size > 0) chunks = [{ hash: e.hash, size: e.size }];
  return { hash: e.hash, size: e.size, entries: [e], chunks, left: chunks.length };
}
