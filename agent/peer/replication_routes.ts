/**
 * The peer API's replication routes, mounted under /peer/v1 behind request signing:
 * what importers fetch (generation records, trees, chunks) and what the CLI and panel of
 * any host ask of this one (its status, and commands for the exporter).
 */
import { Hono } from "hono";
import type { Generation, Hash } from "../replication/tree.ts";
import { isHash } from "../replication/tree.ts";
import { encodeFrame } from "../replication/chunk_frames.ts";
import { concatBytes } from "../concat_bytes.ts";
import { MAX_CHUNKS_PER_REQUEST, MAX_TREES_PER_REQUEST } from "../replication/content_source.ts";
import type { ReplicationHostStatus, ReplicationStatus } from "../replication/status.ts";

export type ReplicationCommand =
  | { command: "now"; confirm: boolean }
  | { command: "rollback"; gen: number };

export const REPLICATION_COMMAND_USAGE = "command must be now {confirm} or rollback {gen}";

/** The command in a request body (the control API's and the peer API's), or undefined. */
export function parseReplicationCommand(
  b: Record<string, unknown>,
): ReplicationCommand | undefined {
  if (b.command === "now") return { command: "now", confirm: b.confirm === true };
  if (b.command === "rollback" && Number.isInteger(b.gen) && (b.gen as number) > 0) {
    return { command: "rollback", gen: b.gen as number };
  }
  return undefined;
}

/** What the routes need from this host's replication service. */
export interface ReplicationPeer {
  generation(gen: number): Generation | undefined;
  treeBytes(hash: Hash): Uint8Array | undefined;
  readChunk(hash: Hash): Promise<Uint8Array | undefined>;
  /** This host's own line of the status. */
  hostStatus(): ReplicationHostStatus;
  /** The exporter's view: pending generation and history (null on importers). */
  exporterStatus(): Pick<ReplicationStatus, "pending" | "history"> | null;
  /** Runs a command on this host, which must be the exporter. Throws a clear Error if not. */
  command(cmd: ReplicationCommand, by: string): Promise<{ message: string; gen?: number }>;
}

export function replicationRoutes(repl: () => ReplicationPeer | undefined): Hono {
  const app = new Hono();
  const body = (c: { get(k: never): unknown }) => {
    try {
      return JSON.parse(c.get("body" as never) as string) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  app.use(async (c, next) => {
    if (!repl()) return c.json({ error: "replication is not running on this host" }, 404);
    await next();
  });
  app.get("/gen/:n", (c) => {
    const n = Number(c.req.param("n"));
    const g = Number.isInteger(n) && n > 0 ? repl()!.generation(n) : undefined;
    return g ? c.json(g) : c.json({ error: `generation ${c.req.param("n")} is not here` }, 404);
  });
  app.post("/trees", (c) => {
    const hashes = hashList(body(c).hashes, MAX_TREES_PER_REQUEST);
    if (!hashes) {
      return c.json(
        { error: `hashes must be up to ${MAX_TREES_PER_REQUEST} SHA-256 hex digests` },
        400,
      );
    }
    const trees: Record<Hash, string> = {};
    const dec = new TextDecoder();
    for (const h of hashes) {
      const b = repl()!.treeBytes(h);
      if (b) trees[h] = dec.decode(b);
    }
    return c.json({ trees });
  });
  app.post("/chunks", (c) => {
    const hashes = hashList(body(c).hashes, MAX_CHUNKS_PER_REQUEST);
    if (!hashes) {
      return c.json(
        { error: `hashes must be up to ${MAX_CHUNKS_PER_REQUEST} SHA-256 hex digests` },
        400,
      );
    }
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      // Frames go out in writes of at least WRITE_BYTES: a tree of small files has chunks
      // of a few KB, and each write is an HTTP chunk, a TLS record and a send of its own.
      async pull(ctl) {
        const frames: Uint8Array[] = [];
        let size = 0;
        while (i < hashes.length && size < WRITE_BYTES) {
          const h = hashes[i++];
          const bytes = await repl()!.readChunk(h).catch(() => undefined);
          if (!bytes) continue;
          const frame = encodeFrame(h, bytes, { compress: true });
          frames.push(frame);
          size += frame.length;
        }
        if (frames.length === 0) return ctl.close();
        ctl.enqueue(frames.length === 1 ? frames[0] : concatBytes(frames));
      },
    });
    return c.body(stream, 200, { "content-type": "application/octet-stream" });
  });
  app.get(
    "/status",
    (c) => c.json({ host: repl()!.hostStatus(), exporter: repl()!.exporterStatus() }),
  );
  app.post("/command", async (c) => {
    const b = body(c);
    const cmd = parseReplicationCommand(b);
    if (!cmd) return c.json({ error: REPLICATION_COMMAND_USAGE }, 400);
    try {
      return c.json(await repl()!.command(cmd, typeof b.by === "string" ? b.by : "peer"));
    } catch (e) {
      return c.json({ error: (e as Error).message }, 409);
    }
  });
  return app;
}

/** Bytes of frames gathered into one write of a chunk stream. */
const WRITE_BYTES = 64 * 1024;

function hashList(v: unknown, max: number): Hash[] | undefined {
  if (!Array.isArray(v) || v.length > max || !v.every(isHash)) return undefined;
  return v as Hash[];
}
