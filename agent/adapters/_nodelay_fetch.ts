/**
 * A minimal `fetch` over node:https whose sockets have TCP_NODELAY set.
 *
 * Deno's own `fetch` leaves Nagle's algorithm on (hyper-util's connector sets TCP_NODELAY
 * off; an opt-in is denoland/deno#35581, unreleased) and sends a request of more than
 * ~1 KiB in two writes. Nagle holds the second write until the first is acknowledged, and
 * the peer delays that ACK by 40 ms: every small POST between hosts took ~44 ms instead of
 * well under 1 ms. node:https in Deno 2.9 runs over a real TCP socket, so `setNoDelay`
 * works, and the request goes out in one write besides.
 *
 * Only what the peer client needs: a body given whole, a streamed answer, an AbortSignal
 * bounding the whole exchange (the request rejects, or the body stream errors, with the
 * signal's reason, as with `fetch`).
 */
import https from "node:https";
import type { IncomingMessage } from "node:http";
import { Buffer } from "node:buffer";
import { headersOf } from "../peer/_node_headers.ts";

export interface NodelayRequest {
  method: string;
  headers: Record<string, string>;
  /** The whole body, sent with its Content-Length in the same write as the head. */
  body?: string | Uint8Array;
  signal: AbortSignal;
}

/** A keep-alive connection pool trusting `caPem` (and the default roots, as `fetch` does). */
export function nodelayAgent(caPem: string): https.Agent {
  // An idle connection is dropped after 10 s, before the server's keep-alive timeout
  // (agent/peer/peer_server.ts: 30 s), so a request never lands on a connection the server
  // is closing.
  return new https.Agent({ keepAlive: true, timeout: 10_000, ca: caPem });
}

/** Sends one request on `agent`; resolves with the answer once its head has arrived. */
export function nodelayFetch(
  agent: https.Agent,
  url: URL,
  init: NodelayRequest,
): Promise<Response> {
  const { signal } = init;
  if (signal.aborted) return Promise.reject(signal.reason);
  const body = typeof init.body === "string" ? Buffer.from(init.body) : init.body;
  const headers = body === undefined
    ? init.headers
    : { ...init.headers, "content-length": String(body.byteLength) };
  return new Promise<Response>((resolve, reject) => {
    const req = https.request({
      agent,
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: url.port,
      path: url.pathname + url.search,
      method: init.method,
      headers,
    });
    let answered = false;
    const onAbort = () => {
      req.destroy(signal.reason);
      if (!answered) reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const done = () => signal.removeEventListener("abort", onAbort);
    req.on("socket", (socket) => socket.setNoDelay(true));
    req.on("error", (e) => {
      done();
      if (!answered) reject(e);
    });
    req.on("response", (res) => {
      answered = true;
      resolve(toResponse(res, signal, done));
    });
    req.end(body);
  });
}

/** Statuses whose answer has no body; `new Response()` refuses one for them. */
const NULL_BODY = new Set([101, 204, 205, 304]);

function toResponse(res: IncomingMessage, signal: AbortSignal, done: () => void): Response {
  const headers = headersOf(res);
  const init = { status: res.statusCode ?? 502, statusText: res.statusMessage ?? "", headers };
  if (NULL_BODY.has(init.status)) {
    res.resume();
    res.on("end", done);
    return new Response(null, init);
  }
  let settled = false;
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      const fail = (e: unknown) => {
        if (settled) return;
        settled = true;
        done();
        ctl.error(signal.aborted ? signal.reason : e);
      };
      res.on("data", (b: Buffer) => {
        if (settled) return;
        ctl.enqueue(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        if ((ctl.desiredSize ?? 1) <= 0) res.pause();
      });
      res.on("end", () => {
        if (settled) return;
        settled = true;
        done();
        ctl.close();
      });
      res.on("error", fail);
      // After "end", "close" changes nothing; before it, the connection broke or was aborted.
      res.on("close", () => fail(new Error("the connection closed before the answer ended")));
    },
    pull() {
      res.resume();
    },
    cancel() {
      settled = true;
      done();
      res.destroy();
    },
  }, { highWaterMark: 4 });
  return new Response(body, init);
}
