/** Shared setup for the content store, ingest and assembler tests: temp stores and files. */
import { ContentStore } from "../../../agent/replication/content_store.ts";
import { chunkLengths } from "../../../agent/replication/chunker.ts";
import {
  type ChunkRef,
  type FileEntry,
  type Generation,
  hashBytes,
  type Tree,
  type TreeEntry,
  treeTotals,
} from "../../../agent/replication/tree.ts";

export const MTIME = 1_700_000_000_123;

/** Runs `fn` with a fresh temp dir, removed afterwards. */
export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "replication-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `fn` with a store opened in a fresh temp dir. */
export function withStore(fn: (store: ContentStore, dir: string) => Promise<void>): Promise<void> {
  return withTempDir(async (dir) => fn(await ContentStore.open(`${dir}/content`), dir));
}

/** The FileEntry of `bytes`, chunked as the exporter would. */
export function fileEntry(
  name: string,
  bytes: Uint8Array,
  mode = 0o644,
  mtimeMs = MTIME,
): FileEntry {
  const e: FileEntry = {
    name,
    type: "file",
    mode,
    size: bytes.length,
    mtimeMs,
    hash: hashBytes(bytes),
  };
  const lengths = chunkLengths(bytes);
  if (lengths.length > 1) {
    let off = 0;
    e.chunks = lengths.map((size): ChunkRef => {
      const c = { hash: hashBytes(bytes.subarray(off, off + size)), size };
      off += size;
      return c;
    });
  }
  return e;
}

/** Installs `bytes` as a file of the store; returns its entry. */
export async function putFile(
  store: ContentStore,
  name: string,
  bytes: Uint8Array,
  mode = 0o644,
  mtimeMs = MTIME,
): Promise<FileEntry> {
  const e = fileEntry(name, bytes, mode, mtimeMs);
  const tmp = store.tempPath("test");
  await Deno.writeFile(tmp, bytes);
  await store.installFile(e, tmp);
  return e;
}

/** A DirEntry for a tree already written to the store. */
export async function dirEntry(
  store: ContentStore,
  name: string,
  tree: Tree,
  mode = 0o755,
): Promise<TreeEntry> {
  const t = treeTotals(tree);
  const climbs = t.climbs ||
    tree.entries.some((e) => e.type === "symlink" && e.target.startsWith(".."));
  return {
    name,
    type: "dir",
    mode,
    tree: await store.writeTree(tree),
    files: t.files,
    bytes: t.bytes,
    ...(climbs ? { climbs: true } : {}),
  };
}

export async function generation(
  store: ContentStore,
  gen: number,
  root: Tree,
): Promise<Generation> {
  const t = treeTotals(root);
  return {
    gen,
    root: await store.writeTree(root),
    parent: gen - 1,
    createdMs: MTIME,
    exporter: 1,
    files: t.files,
    bytes: t.bytes,
  };
}

export const text = (s: string) => new TextEncoder().encode(s);

export { randomBytes } from "../../_fakes/random_bytes.ts";
