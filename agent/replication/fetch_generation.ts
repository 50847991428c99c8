/**
 * The importer's fetch of one generation: its record, the trees it lacks, then the file
 * chunks it lacks, then stage (fsync'd, ready to flip). Trees and chunks are verified
 * against their hashes; a source that sends a bad one is dropped for the rest of the fetch
 * and the rest is asked of the next source. An interrupted fetch resumes: trees and files
 * already in the store, and chunks already in a `.part` file, are not fetched again.
 */
import { type ContentSource, MAX_CHUNKS_PER_REQUEST, TREES_PER_FETCH } from "./content_source.ts";
import type { ContentStore } from "./content_store.ts";
import { installFiles } from "./file_assembler.ts";
import { decodeTree, type Generation, type Hash, hashBytes, isHash, type Tree } from "./tree.ts";

/** Files handed to the assembler at once (see fetchGeneration). */
export const INSTALL_SLICE = 8192;

export interface FetchProgress {
  bytesDone: number;
  bytesToGo: number;
  objectsToGo: number;
}

export interface FetchOptions {
  signal: AbortSignal;
  onProgress?(p: FetchProgress): void;
  /** A source sent a tree or chunk that does not match its hash. */
  onBadObject?(source: ContentSource, what: string): void;
}

export interface FetchResult {
  generation: Generation;
  fetchedBytes: number;
  fetchedChunks: number;
  localBytes: number;
  trees: number;
  /** Where the time went (ms): the trees, the files, staging (materialize and sync). */
  ms: { trees: number; files: number; stage: number };
}

export async function fetchGeneration(
  gen: number,
  sources: ContentSource[],
  store: ContentStore,
  o: FetchOptions,
): Promise<FetchResult> {
  if (sources.length === 0) throw new Error(`no host to fetch generation ${gen} from`);
  const usable = [...sources];
  const generation = await firstOk(usable, (s) => s.generation(gen), `generation ${gen}`);
  checkGeneration(generation, gen);

  let trees = 0;
  const t0 = performance.now();
  let missing = await store.findMissing(generation.root);
  while (missing.trees.length > 0) {
    for (let i = 0; i < missing.trees.length; i += TREES_PER_FETCH) {
      const want = missing.trees.slice(i, i + TREES_PER_FETCH);
      trees += await fetchTrees(want, usable, store, o);
    }
    missing = await store.findMissing(generation.root);
  }
  const t1 = performance.now();
  const files = missing.files;
  await pruneStaging(store, new Set(files.map((f) => f.hash)));
  const bytesToGo = files.reduce((n, f) => n + f.size, 0);
  const objectsToGo = files.length;
  o.onProgress?.({ bytesDone: 0, bytesToGo, objectsToGo });

  // In slices: what the assembler keeps per file (groups, wanted chunks, targets) is some
  // 5 objects a file, ~60 MB for a 100k-file tree at once. A content already installed by
  // an earlier slice is copied locally, so slicing fetches nothing twice.
  // Entries of installed slices are let go (at 100k files they are ~20 MB).
  const got = { fetchedBytes: 0, fetchedChunks: 0, localBytes: 0 };
  while (files.length > 0 && !o.signal.aborted) {
    const slice = files.splice(0, INSTALL_SLICE);
    const r = await installFiles(store, slice, (hashes) => fetchChunks(hashes, usable, o), {
      onProgress: (p) => {
        const doneBytes = got.fetchedBytes + got.localBytes, doneChunks = got.fetchedChunks;
        o.onProgress?.({
          bytesDone: doneBytes + p.bytesDone,
          bytesToGo: Math.max(0, bytesToGo - doneBytes - p.bytesDone),
          objectsToGo: Math.max(0, objectsToGo - doneChunks - p.chunksDone),
        });
      },
    });
    got.fetchedBytes += r.fetchedBytes, got.fetchedChunks += r.fetchedChunks;
    got.localBytes += r.localBytes;
  }
  if (o.signal.aborted) throw new Error(`fetch of generation ${gen} aborted`);
  const t2 = performance.now();
  await store.stage(generation);
  o.onProgress?.({ bytesDone: got.fetchedBytes, bytesToGo: 0, objectsToGo: 0 });
  const ms = { trees: t1 - t0, files: t2 - t1, stage: performance.now() - t2 };
  return { generation, ...got, trees, ms: mapValues(ms, Math.round) };
}

async function fetchTrees(
  want: Hash[],
  usable: ContentSource[],
  store: ContentStore,
  o: FetchOptions,
): Promise<number> {
  let left = want, stored = 0;
  for (const source of [...usable]) {
    if (left.length === 0) break;
    let got: Record<Hash, string>;
    try {
      got = await source.trees(left);
    } catch {
      continue;
    }
    const rest: Hash[] = [];
    for (const h of left) {
      const text = got[h];
      if (text === undefined) {
        rest.push(h);
        continue;
      }
      const bytes = ENCODER.encode(text);
      const tree = hashBytes(bytes) === h ? decodeOrUndefined(bytes) : undefined;
      if (!tree) {
        o.onBadObject?.(source, `tree ${h.slice(0, 12)}`);
        drop(usable, source);
        rest.push(h);
        continue;
      }
      await store.putDecodedTree(h, bytes, tree);
      stored++;
    }
    left = rest;
  }
  if (left.length > 0) {
    throw new Error(`${left.length} tree(s) are on no reachable host (first ${left[0]})`);
  }
  return stored;
}

/** Streams chunks from the sources in turn, yielding only those that match their hash. */
async function* fetchChunks(
  hashes: Hash[],
  usable: ContentSource[],
  o: FetchOptions,
): AsyncIterable<{ hash: Hash; bytes: Uint8Array }> {
  const left = new Set(hashes);
  for (const source of [...usable]) {
    if (left.size === 0 || o.signal.aborted) return;
    const ask = [...left];
    for (let i = 0; i < ask.length; i += MAX_CHUNKS_PER_REQUEST) {
      try {
        for await (const c of source.chunks(ask.slice(i, i + MAX_CHUNKS_PER_REQUEST), o.signal)) {
          if (!left.has(c.hash)) continue;
          if (hashBytes(c.bytes) !== c.hash) {
            o.onBadObject?.(source, `chunk ${c.hash.slice(0, 12)}`);
            drop(usable, source);
            break;
          }
          left.delete(c.hash);
          yield c;
        }
      } catch {
        // A failed source: what is still missing goes to the next one.
      }
      if (!usable.includes(source)) break;
    }
  }
}

async function firstOk<T>(
  usable: ContentSource[],
  f: (s: ContentSource) => Promise<T>,
  what: string,
): Promise<T> {
  const errors: string[] = [];
  for (const s of usable) {
    try {
      return await f(s);
    } catch (e) {
      errors.push(`${s.name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`cannot fetch ${what}: ${errors.join("; ")}`);
}

function checkGeneration(g: Generation, gen: number): void {
  if (!g || g.gen !== gen || !isHash(g.root)) {
    throw new Error(`the record of generation ${gen} is malformed`);
  }
}

const ENCODER = new TextEncoder();

function decodeOrUndefined(bytes: Uint8Array): Tree | undefined {
  try {
    return decodeTree(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Removes partial files of earlier targets that this generation does not need: they would
 * only take space (a disk that filled up on a huge file must recover once it is gone).
 */
export async function pruneStaging(store: ContentStore, needed: Set<Hash>): Promise<void> {
  const dir = `${store.root}/staging`;
  try {
    for await (const e of Deno.readDir(dir)) {
      const hash = e.name.replace(/\.part$/, "");
      if (!needed.has(hash)) await Deno.remove(`${dir}/${e.name}`).catch(() => {});
    }
  } catch { /* no staging dir yet */ }
}

function mapValues<T extends Record<string, number>>(o: T, f: (n: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)])) as T;
}

function drop(usable: ContentSource[], source: ContentSource): void {
  const i = usable.indexOf(source);
  if (i >= 0) usable.splice(i, 1);
}
