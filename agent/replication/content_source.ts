/**
 * ContentSource: a host an importer fetches a generation from (the exporter, or any host
 * that staged it). The real one speaks the peer API (peer_source.ts); tests use stores in
 * memory. Nothing a source returns is trusted: every tree and chunk is checked against
 * its hash by the fetcher.
 */
import type { Generation, Hash } from "./tree.ts";

export interface ContentSource {
  /** Host id and name, for events and status. */
  id: number;
  name: string;
  /** The generation record (number, root tree, totals). */
  generation(gen: number): Promise<Generation>;
  /** Tree objects by hash, as their canonical bytes in UTF-8 text; unknown hashes are left out. */
  trees(hashes: Hash[]): Promise<Record<Hash, string>>;
  /** Chunks by hash, streamed; unknown hashes are left out. */
  chunks(hashes: Hash[], signal: AbortSignal): AsyncIterable<{ hash: Hash; bytes: Uint8Array }>;
}

/** Limits on one request, so a batch stays bounded on both ends. */
export const MAX_TREES_PER_REQUEST = 1000;
/**
 * Trees an importer asks for at once: an answer is one JSON text, so both ends hold it whole
 * (1000 trees of a 100k-file tree were a 17 MB string on the exporter at its memory peak).
 */
export const TREES_PER_FETCH = 100;
export const MAX_CHUNKS_PER_REQUEST = 2048;
