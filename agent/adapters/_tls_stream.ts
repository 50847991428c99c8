/**
 * HTTP/1.1 requests over TLS connections of their own (`Deno.connectTls`), whose answer
 * bodies are read into one reused buffer and handed out as slices of it.
 *
 *   pool: an idle connection ─┐
 *   or connectTls (cluster CA) ┴▶ head + body in one write ─▶ read the answer's head
 *     ─▶ body: read into BUFFER_BYTES ─▶ BodyReader (_http1_answer.ts) ─▶ slices yielded
 *     ─▶ body read to its end: the connection goes back to the pool, else it is closed
 *
 * For bulk answers: an importer's chunk streams, hundreds of MB. Measured on this VM with
 * 500 MB of chunk frames from the peer server, decoded and hash-verified on arrival: over
 * node:https (_nodelay_fetch.ts) the client used 1.56 CPU-seconds and took 1.35 s; here
 * 0.70 CPU-seconds and 0.80 s. node:https also allocates a buffer per read, which doubled
 * the garbage the GC pacer collects during a sync; here the only allocation per read is
 * what the caller keeps.
 *
 * Connections are kept alive (TlsConnPool): a new one costs a TLS handshake, some 20-40 ms
 * on this VM with both ends busy, which a one-file change would pay on every request. An
 * idle connection the server has closed meanwhile fails before any answer arrives; the
 * request is then sent once more on a new connection (the requests sent here only read).
 *
 * A slice is valid until the caller asks for the next one: copy what must outlive it. The
 * caller reads the body (or text()) to its end, or abandons it: a connection is reused
 * only after a body read whole. The signal bounds the whole exchange: on abort the
 * connection is closed and the request, or the body's iteration, rejects with its reason.
 */
import { BodyReader, parseHead } from "./_http1_answer.ts";

export interface TlsStreamRequest {
  hostname: string;
  port: number;
  /** The only CA trusted (the cluster's). */
  caPem: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  signal: AbortSignal;
}

export interface TlsStreamAnswer {
  status: number;
  headers: Map<string, string>;
  /** The body, as slices of one buffer: each is valid until the next is asked for. */
  body: AsyncIterable<Uint8Array>;
  /** The body whole as text, at most TEXT_LIMIT bytes (for error answers). */
  text(): Promise<string>;
}

/** Bytes read at once (TLS records are 16 KiB; a read returns what has arrived). */
export const BUFFER_BYTES = 256 * 1024;
const TEXT_LIMIT = 1 << 20;
/** An idle connection older than this is closed rather than reused (the server keeps 30 s). */
export const IDLE_MS = 10_000;
/** Idle connections kept per host and port. */
const MAX_IDLE = 8;

/** Idle keep-alive connections, per host and port; close() ends them all. */
export class TlsConnPool {
  #idle = new Map<string, { conn: Deno.TlsConn; since: number }[]>();
  #closed = false;
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** The most recently used idle connection to `key`, if one is young enough. */
  take(key: string): Deno.TlsConn | undefined {
    const list = this.#idle.get(key) ?? [];
    for (let e = list.pop(); e; e = list.pop()) {
      if (this.#now() - e.since < IDLE_MS) return e.conn;
      closeQuietly(e.conn);
    }
    return undefined;
  }

  give(key: string, conn: Deno.TlsConn): void {
    const list = this.#idle.get(key) ?? [];
    if (this.#closed || list.length >= MAX_IDLE) return closeQuietly(conn);
    list.push({ conn, since: this.#now() });
    this.#idle.set(key, list);
  }

  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const e of list) closeQuietly(e.conn);
    this.#idle.clear();
  }
}

/** Sends `r` (on an idle connection of `pool` if there is one); resolves once the head is in. */
export async function tlsStreamRequest(
  r: TlsStreamRequest,
  pool?: TlsConnPool,
): Promise<TlsStreamAnswer> {
  r.signal.throwIfAborted();
  const key = `${r.hostname}:${r.port}`;
  const idle = pool?.take(key);
  if (idle) {
    try {
      return await exchange(idle, r, pool, key);
    } catch (e) {
      if (!(e instanceof NoAnswer) || r.signal.aborted) throw e;
      // The server closed it while it was idle: once more, on a new connection.
    }
  }
  return await exchange(await connect(r), r, pool, key);
}

/** The connection ended (or broke) before any byte of the answer arrived. */
class NoAnswer extends Error {}

async function exchange(
  conn: Deno.TlsConn,
  r: TlsStreamRequest,
  pool: TlsConnPool | undefined,
  key: string,
): Promise<TlsStreamAnswer> {
  const { signal } = r;
  const abort = () => closeQuietly(conn);
  signal.addEventListener("abort", abort, { once: true });
  const release = (reusable: boolean) => {
    signal.removeEventListener("abort", abort);
    if (reusable && pool && !signal.aborted) pool.give(key, conn);
    else closeQuietly(conn);
  };
  const buf = new Uint8Array(BUFFER_BYTES);
  let head: ReturnType<typeof parseHead>, filled = 0;
  try {
    await writeAll(conn, requestBytes(r, pool !== undefined));
    for (;;) {
      const n = await conn.read(buf.subarray(filled));
      if (n === null) throw new Error("the connection closed before the answer's head");
      filled += n;
      head = parseHead(buf.subarray(0, filled));
      if (head) break;
    }
  } catch (e) {
    release(false);
    if (signal.aborted) throw signal.reason;
    if (filled === 0) throw new NoAnswer((e as Error).message, { cause: e });
    throw e;
  }
  const { status, headers } = head!.head;
  const reader = new BodyReader(head!.head);
  const first = buf.subarray(head!.length, filled);
  const keepAlive = headers.get("connection")?.toLowerCase() !== "close";
  async function* body(): AsyncGenerator<Uint8Array> {
    let whole = false;
    try {
      yield* reader.push(first);
      while (!reader.done) {
        const n = await readOrEnd(conn, buf);
        if (n === null) {
          reader.end();
          return;
        }
        yield* reader.push(buf.subarray(0, n));
      }
      whole = true;
    } catch (e) {
      throw signal.aborted ? signal.reason : e;
    } finally {
      release(whole && keepAlive && !reader.overrun);
    }
  }
  const stream = body();
  return {
    status,
    headers,
    body: stream,
    async text() {
      const decoder = new TextDecoder();
      let text = "", size = 0;
      for await (const s of stream) {
        if ((size += s.length) > TEXT_LIMIT) break;
        text += decoder.decode(s, { stream: true });
      }
      return text + decoder.decode();
    },
  };
}

/** Connects, or rejects with the signal's reason once it aborts (closing a late connection). */
function connect(r: TlsStreamRequest): Promise<Deno.TlsConn> {
  const pending = Deno.connectTls({ hostname: r.hostname, port: r.port, caCerts: [r.caPem] });
  return new Promise<Deno.TlsConn>((resolve, reject) => {
    const onAbort = () => {
      reject(r.signal.reason);
      pending.then(closeQuietly, () => {});
    };
    r.signal.addEventListener("abort", onAbort, { once: true });
    pending.then(
      (c) => {
        r.signal.removeEventListener("abort", onAbort);
        if (r.signal.aborted) closeQuietly(c);
        else resolve(c);
      },
      (e) => {
        r.signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function requestBytes(r: TlsStreamRequest, keepAlive: boolean): Uint8Array {
  const body = new TextEncoder().encode(r.body);
  const host = r.hostname.includes(":") ? `[${r.hostname}]:${r.port}` : `${r.hostname}:${r.port}`;
  const lines = [`${r.method} ${r.path} HTTP/1.1`, `host: ${host}`];
  if (!keepAlive) lines.push("connection: close");
  for (const [k, v] of Object.entries(r.headers)) lines.push(`${k}: ${v}`);
  lines.push(`content-length: ${body.length}`, "", "");
  const head = new TextEncoder().encode(lines.join("\r\n"));
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

/** A read; a close without TLS close_notify counts as the end (the body's framing decides). */
async function readOrEnd(conn: Deno.Conn, buf: Uint8Array): Promise<number | null> {
  try {
    return await conn.read(buf);
  } catch (e) {
    if (e instanceof Deno.errors.UnexpectedEof) return null;
    throw e;
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch { /* already closed */ }
}
