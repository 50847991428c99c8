/**
 * The peer API's HTTPS server: node:https with TCP_NODELAY on every accepted connection,
 * handing each request to a fetch-style handler (the Hono app of peer_app.ts).
 *
 * Not `Deno.serve`: it leaves Nagle's algorithm on and writes an answer of more than
 * ~1 KiB in two writes, so the second waited for the client's delayed ACK, 40 ms on every
 * such answer. Deno 2.9 cannot serve HTTP on a connection of one's own, nor set
 * TCP_NODELAY on `Deno.serve`'s sockets; node:https in Deno runs over real TCP sockets
 * and sets it (`noDelay`).
 *
 *     TLS connection ──► node request ──► Request ──► handler ──► Response ──► node answer
 *                        (body read whole)                        (body streamed, with
 *                                                                   backpressure)
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Buffer } from "node:buffer";
import { headersOf } from "./_node_headers.ts";

export interface PeerServerOptions {
  hostname: string;
  /** 0 picks a free port (see PeerServer.port). */
  port: number;
  /** The host certificate and its key, PEM. */
  cert: string;
  key: string;
}

export type FetchHandler = (req: Request) => Response | Promise<Response>;

export interface PeerServer {
  /** The port it listens on. */
  readonly port: number;
  /** Stops accepting, lets requests in flight finish, closes idle connections. */
  shutdown(): Promise<void>;
}

/**
 * How long an idle connection stays open. Longer than a client's own idle timeout
 * (adapters/_nodelay_fetch.ts: 10 s), so that the client is the one that closes it.
 */
const KEEP_ALIVE_MS = 30_000;

/** Listens on `o.hostname:o.port`; rejects if it cannot (e.g. the address is in use). */
export async function servePeerApi(
  o: PeerServerOptions,
  handler: FetchHandler,
): Promise<PeerServer> {
  let closing = false;
  const server = https.createServer(
    { cert: o.cert, key: o.key, noDelay: true, keepAliveTimeout: KEEP_ALIVE_MS },
    (req, res) => {
      // While shutting down, an answer ends its connection, or leaves it idle to close.
      res.on("finish", () => closing && server.closeIdleConnections());
      answer(req, res, handler, () => closing).catch((e) => res.destroy(e as Error));
    },
  );
  await new Promise<void>((resolve, reject) => {
    const refuse = (e: Error) =>
      reject(
        new Error(
          `cannot serve the peer API on ${o.hostname}:${o.port}: ${e.message} ` +
            "(is the address on this host, and the port free? see: ip addr; ss -ltnp)",
        ),
      );
    server.once("error", refuse);
    server.listen(o.port, o.hostname, () => {
      server.off("error", refuse);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : o.port,
    shutdown: () =>
      new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  handler: FetchHandler,
  closing: () => boolean,
): Promise<void> {
  let response: Response;
  try {
    response = await handler(await toRequest(req));
  } catch (e) {
    response = Response.json({ error: `internal error: ${(e as Error).message}` }, { status: 500 });
  }
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((v, k) => {
    if (k !== "set-cookie") headers[k] = v;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  if (closing()) headers["connection"] = "close";
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  // The client went away mid-answer: stop producing it.
  res.on("close", () => !res.writableFinished && reader.cancel().catch(() => {}));
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (res.destroyed) return;
    if (!res.write(value)) await drained(res);
  }
  if (!res.destroyed) res.end();
}

async function toRequest(req: IncomingMessage): Promise<Request> {
  const method = req.method ?? "GET";
  const headers = headersOf(req);
  // The handler routes on the path only; the origin is a placeholder.
  const url = new URL(req.url ?? "/", "https://peer.invalid");
  if (method === "GET" || method === "HEAD") return new Request(url, { method, headers });
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return new Request(url, { method, headers, body: Buffer.concat(parts) });
}

/** Resolves once `res` can take more, or has closed. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const go = () => {
      res.off("drain", go).off("close", go);
      resolve();
    };
    res.on("drain", go).on("close", go);
  });
}
