import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { TlsConnPool, tlsStreamRequest } from "../../../agent/adapters/_tls_stream.ts";
import { tlsFixture } from "../peer/_tls_fixture.ts";

const tls = await tlsFixture();
const enc = new TextEncoder(), dec = new TextDecoder();

interface Seen {
  connections: number;
  heads: string[];
}

/**
 * A minimal HTTP/1.1 server on Deno.listenTls: answers each request with `answer(head)`
 * (a whole answer's bytes) and, with `closeAfterAnswer`, closes the connection without
 * saying so (as a server does to an idle keep-alive connection when its timeout ends).
 */
async function withServer(
  answer: (head: string) => string,
  fn: (port: number, seen: Seen) => Promise<void>,
  o: { closeAfterAnswer?: boolean } = {},
): Promise<void> {
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: tls.host.certPem,
    key: tls.host.keyPem,
  });
  const seen: Seen = { connections: 0, heads: [] };
  const conns = new Set<Deno.Conn>();
  const serving = (async () => {
    for await (const conn of listener) {
      seen.connections++;
      conns.add(conn);
      (async () => {
        let text = "";
        const buf = new Uint8Array(4096);
        try {
          for (;;) {
            const n = await conn.read(buf);
            if (n === null) return;
            text += dec.decode(buf.subarray(0, n));
            const end = text.indexOf("\r\n\r\n");
            if (end < 0) continue;
            const head = text.slice(0, end);
            const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
            if (text.length < end + 4 + length) continue;
            text = text.slice(end + 4 + length);
            seen.heads.push(head);
            const bytes = enc.encode(answer(head));
            for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
            if (o.closeAfterAnswer) return;
          }
        } catch {
          /* the client went away */
        } finally {
          conns.delete(conn);
          try {
            conn.close();
          } catch { /* closed */ }
        }
      })();
    }
  })();
  try {
    await fn(listener.addr.port, seen);
  } finally {
    listener.close();
    for (const c of conns) c.close();
    await serving;
  }
}

const chunked = (body: string) =>
  `HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n${
    body.length.toString(16)
  }\r\n${body}\r\n0\r\n\r\n`;

function request(port: number, path: string, signal = AbortSignal.timeout(5000)) {
  return {
    hostname: "127.0.0.1",
    port,
    caPem: tls.ca.certPem,
    method: "POST",
    path,
    headers: { "content-type": "application/json" },
    body: '{"a":1}',
    signal,
  };
}

async function bodyText(body: AsyncIterable<Uint8Array>): Promise<string> {
  let s = "";
  for await (const slice of body) s += dec.decode(slice, { stream: true });
  return s;
}

Deno.test("tlsStreamRequest() reuses a connection whose answer was read whole", async () => {
  await withServer((head) => chunked(`answer to ${head.split(" ")[1]}`), async (port, seen) => {
    const pool = new TlsConnPool();
    try {
      for (const path of ["/a", "/b", "/c"]) {
        const res = await tlsStreamRequest(request(port, path), pool);
        assertEquals(res.status, 200);
        assertEquals(await bodyText(res.body), `answer to ${path}`);
      }
      assertEquals(seen.connections, 1);
      assert(seen.heads.every((h) => !/connection: close/i.test(h)), "keep-alive is asked");
    } finally {
      pool.close();
    }
  });
});

Deno.test("tlsStreamRequest() sends again on a new connection when the idle one was closed", async () => {
  await withServer(() => chunked("fresh"), async (port, seen) => {
    const pool = new TlsConnPool();
    try {
      assertEquals(
        await bodyText((await tlsStreamRequest(request(port, "/1"), pool)).body),
        "fresh",
      );
      await new Promise((r) => setTimeout(r, 50)); // the server's close arrives
      assertEquals(
        await bodyText((await tlsStreamRequest(request(port, "/2"), pool)).body),
        "fresh",
      );
      assertEquals(seen.connections, 2);
      assertEquals(seen.heads.length, 2);
    } finally {
      pool.close();
    }
  }, { closeAfterAnswer: true });
});

Deno.test("tlsStreamRequest(): a body abandoned before its end closes its connection", async () => {
  const big = "x".repeat(600_000);
  await withServer(() => chunked(big), async (port, seen) => {
    const pool = new TlsConnPool();
    try {
      const res = await tlsStreamRequest(request(port, "/big"), pool);
      for await (const _ of res.body) break;
      assertEquals(await bodyText((await tlsStreamRequest(request(port, "/big"), pool)).body), big);
      assertEquals(seen.connections, 2);
    } finally {
      pool.close();
    }
  });
});

Deno.test("tlsStreamRequest() without a pool asks for the connection to be closed", async () => {
  await withServer(
    () => 'HTTP/1.1 404 Not Found\r\ncontent-length: 13\r\n\r\n{"error":"x"}',
    async (port, seen) => {
      const res = await tlsStreamRequest(request(port, "/gone"));
      assertEquals(res.status, 404);
      assertEquals(await res.text(), '{"error":"x"}');
      assert(/connection: close/i.test(seen.heads[0]), seen.heads[0]);
    },
  );
});
