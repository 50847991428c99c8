/**
 * A ContentSource over the peer API (HTTPS pinned to the cluster CA, signed requests):
 * the importer's side of agent/peer/replication_routes.ts.
 */
import type { HttpsPeerClient } from "../adapters/https_peer_client.ts";
import type { ContentSource } from "./content_source.ts";
import { FrameDecoder } from "./chunk_frames.ts";
import type { Generation, Hash } from "./tree.ts";

export function peerSource(
  peers: HttpsPeerClient,
  host: { id: number; name: string; address: string },
): ContentSource {
  return {
    id: host.id,
    name: host.name,
    generation: (gen) =>
      peers.request<Generation>(host.address, "GET", `/peer/v1/replication/gen/${gen}`),
    trees: async (hashes) =>
      (await peers.request<{ trees: Record<Hash, string> }>(
        host.address,
        "POST",
        "/peer/v1/replication/trees",
        { hashes },
      )).trees,
    async *chunks(hashes, signal) {
      const body = await peers.stream(
        host.address,
        "POST",
        "/peer/v1/replication/chunks",
        { hashes },
        signal,
      );
      const decoder = new FrameDecoder();
      for await (const piece of body) {
        for (const f of decoder.push(piece)) yield { hash: f.hash, bytes: f.bytes };
      }
      if (!decoder.idle) throw new Error(`${host.name} ended a chunk stream mid-frame`);
    },
  };
}
