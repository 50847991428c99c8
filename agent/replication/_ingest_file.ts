/**
 * Reads one source file into the content store.
 *
 *   large:  source ──copyFile (in the kernel)──▶ tmp/ingest.<random>
 *           tmp ──1 MiB slices──┬─▶ SHA-256 of the whole file
 *                               └─▶ Chunker ──boundaries──▶ SHA-256 per chunk
 *           tmp ──installFile──▶ files/…
 *   small:  read whole, hashed and chunked in memory, installBytes
 *
 * Hashing the private copy, not the source, makes what is stored exactly what was hashed
 * even if a writer touches the source meanwhile; a file whose size, mtime or inode moved
 * across the copy is reported as changed and nothing is installed. Slices are fresh
 * buffers (the bytes of an unfinished chunk stay referenced until the chunker places its
 * boundary) and the loop awaits between them, so a 10 GB file neither fills memory nor
 * holds up the event loop. Small files use synchronous calls (ObjectStore.installBytes):
 * per-file call overhead is most of the cost of a 100k-file tree.
 */
import { createHash, type Hash as Hasher } from "node:crypto";
import { Chunker, chunkLengths } from "./chunker.ts";
import type { ContentStore } from "./content_store.ts";
import { SMALL_FILE_BYTES } from "./_object_store.ts";
import { type ChunkRef, type FileEntry, hashBytes } from "./tree.ts";
import { cooperate, removeIfPresent } from "./_fs.ts";

/** Largest read: bounds both memory per file and CPU time per slice (~2 ms to hash and chunk). */
export const SLICE_BYTES = 1 << 20;

export interface SourceStat {
  size: number;
  mtimeMs: number;
  ino: number;
}

/** Whether a second lstat shows the file other than the scan saw it (written or replaced). */
function changed(after: Deno.FileInfo, st: SourceStat): boolean {
  return after.size !== st.size || after.ino !== st.ino || after.mtime?.getTime() !== st.mtimeMs;
}

/** The file's entry (content now in the store), or undefined if it changed while being read. */
export async function ingestFile(
  store: ContentStore,
  abs: string,
  name: string,
  mode: number,
  st: SourceStat,
): Promise<{ entry: FileEntry | undefined; read: number }> {
  if (st.size <= SLICE_BYTES) return await ingestSmall(store, abs, name, mode, st);
  const tmp = store.tempPath("ingest");
  let installed = false;
  try {
    await Deno.copyFile(abs, tmp);
    const after = await Deno.lstat(abs);
    if (changed(after, st)) return { entry: undefined, read: st.size };
    const { size, hash, chunks } = await hashAndChunk(tmp);
    if (size !== st.size) return { entry: undefined, read: size };
    const entry: FileEntry = { name, type: "file", mode, size, mtimeMs: st.mtimeMs, hash };
    if (chunks.length > 1) entry.chunks = chunks;
    if (!store.hasFile(entry)) {
      await store.installFile(entry, tmp);
      installed = true;
    }
    return { entry, read: size };
  } finally {
    if (!installed) await removeIfPresent(tmp);
  }
}

/** Whole-file SHA-256 and content-defined chunks of a file, read in slices. */
export async function hashAndChunk(
  path: string,
): Promise<{ size: number; hash: string; chunks: ChunkRef[] }> {
  const f = await Deno.open(path, { read: true });
  try {
    const whole = createHash("sha256"), chunker = new Chunker();
    const pending: Uint8Array[] = [], chunks: ChunkRef[] = [];
    const cut = (lengths: number[]) => {
      for (const size of lengths) chunks.push({ hash: hashPending(pending, size), size });
    };
    let size = 0;
    for (;;) {
      const buf = new Uint8Array(SLICE_BYTES);
      const n = await f.read(buf);
      if (n === null) break;
      const slice = buf.subarray(0, n);
      size += n;
      whole.update(slice);
      pending.push(slice);
      cut(chunker.update(slice));
      await cooperate();
    }
    cut(chunker.finish());
    return { size, hash: whole.digest("hex"), chunks };
  } finally {
    f.close();
  }
}

/** A file of one slice: read whole, checked unchanged by a second lstat, written whole. */
async function ingestSmall(
  store: ContentStore,
  abs: string,
  name: string,
  mode: number,
  st: SourceStat,
): Promise<{ entry: FileEntry | undefined; read: number }> {
  const small = st.size <= SMALL_FILE_BYTES;
  const bytes = small ? Deno.readFileSync(abs) : await Deno.readFile(abs);
  const after = small ? Deno.lstatSync(abs) : await Deno.lstat(abs);
  if (bytes.length !== st.size || changed(after, st)) {
    return { entry: undefined, read: bytes.length };
  }
  const entry: FileEntry = {
    name,
    type: "file",
    mode,
    size: bytes.length,
    mtimeMs: st.mtimeMs,
    hash: hashBytes(bytes),
  };
  const lengths = chunkLengths(bytes);
  if (lengths.length > 1) {
    let off = 0;
    entry.chunks = lengths.map((size) => {
      const hash = hashBytes(bytes.subarray(off, off + size));
      off += size;
      return { hash, size };
    });
  }
  await cooperate();
  if (!store.hasFile(entry)) await store.installBytes(entry, bytes);
  await cooperate();
  return { entry, read: bytes.length };
}

/** SHA-256 of the first `size` bytes queued in `pending`, which are consumed. */
function hashPending(pending: Uint8Array[], size: number): string {
  const h: Hasher = createHash("sha256");
  let left = size;
  while (left > 0) {
    const seg = pending[0];
    if (seg.length <= left) {
      h.update(seg);
      left -= seg.length;
      pending.shift();
    } else {
      h.update(seg.subarray(0, left));
      pending[0] = seg.subarray(left);
      left = 0;
    }
  }
  return h.digest("hex");
}
