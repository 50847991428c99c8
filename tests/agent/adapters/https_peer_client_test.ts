import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { HttpsPeerClient } from "../../../agent/adapters/https_peer_client.ts";
import { servePeerApi } from "../../../agent/peer/peer_server.ts";
import { verifyRequest } from "../../../agent/peer/request_auth.ts";
import { patternBytes, slicedStream, tlsFixture } from "../peer/_tls_fixture.ts";
import { concatBytes } from "../../../agent/concat_bytes.ts";

const tls = await tlsFixture();
const HOST = "127.0.0.1";
const KEY = new Uint8Array(32).fill(9);

type Handler = (req: Request, body: string) => Response | Promise<Response>;

/** A server that checks each request's signature (401 if bad) before `handler`. */
function signed(handler: Handler) {
  return async (req: Request) => {
    const body = req.method === "GET" ? "" : await req.text();
    const path = new URL(req.url).pathname;
    const auth = req.headers.get("authorization");
    const r = verifyRequest(KEY, auth, req.method, path, body, Date.now());
    return r.ok ? handler(req, body) : Response.json({ error: r.reason }, { status: 401 });
  };
}

/** Runs `fn` with a client of a peer server (ours, or Deno.serve as older hosts run). */
async function withPeer(
  handler: Handler,
  fn: (client: HttpsPeerClient, port: number) => Promise<void>,
  o: { server?: "peer" | "deno"; timeoutMs?: number; caPem?: string } = {},
): Promise<void> {
  const tlsOpts = { hostname: HOST, port: 0, cert: tls.host.certPem, key: tls.host.keyPem };
  const server = o.server === "deno"
    ? (() => {
      const s = Deno.serve({ ...tlsOpts, onListen: () => {} }, signed(handler));
      return { port: s.addr.port, shutdown: () => s.shutdown() };
    })()
    : await servePeerApi(tlsOpts, signed(handler));
  const client = new HttpsPeerClient({
    caPem: o.caPem ?? tls.ca.certPem,
    key: KEY,
    selfId: 7,
    port: server.port,
    timeoutMs: o.timeoutMs,
  });
  try {
    await fn(client, server.port);
  } finally {
    client.close();
    await server.shutdown();
  }
}

/** Answers what it was asked. */
const echo: Handler = (req, body) => {
  const url = new URL(req.url);
  return Response.json({ method: req.method, path: url.pathname + url.search, body });
};

Deno.test("HttpsPeerClient.request() signs the request and returns the JSON answer", async () => {
  await withPeer(echo, async (peers) => {
    assertEquals(await peers.request(HOST, "POST", "/peer/v1/x?a=1", { hashes: ["ab"] }), {
      method: "POST",
      path: "/peer/v1/x?a=1",
      body: '{"hashes":["ab"]}',
    });
    assertEquals(await peers.request(HOST, "GET", "/peer/v1/view"), {
      method: "GET",
      path: "/peer/v1/view",
      body: "",
    });
  });
});

Deno.test("HttpsPeerClient.pushConfig() POSTs the config to /peer/v1/config", async () => {
  const seen: string[] = [];
  await withPeer((req, body) => {
    seen.push(`${req.method} ${new URL(req.url).pathname} ${body}`);
    return Response.json({ version: 3 });
  }, async (peers) => {
    await peers.pushConfig(HOST, { version: 3 } as never);
  });
  assertEquals(seen, ['POST /peer/v1/config {"version":3}']);
});

Deno.test("HttpsPeerClient.request() rejects with the peer's error message", async () => {
  await withPeer(
    (req) =>
      new URL(req.url).pathname === "/plain"
        ? new Response("nope", { status: 503 })
        : Response.json({ error: "generation 9 is not here" }, { status: 404 }),
    async (peers) => {
      await rejects(peers.request(HOST, "GET", "/gen/9"), { message: "generation 9 is not here" });
      await rejects(peers.request(HOST, "GET", "/plain"), { message: `HTTP 503 from ${HOST}` });
    },
  );
});

Deno.test("HttpsPeerClient.request() is refused by a peer with another cluster key", async () => {
  await withPeer(echo, async (_, port) => {
    const stranger = new HttpsPeerClient({
      caPem: tls.ca.certPem,
      key: new Uint8Array(32),
      selfId: 7,
      port,
    });
    try {
      await rejects(stranger.request(HOST, "GET", "/x"), /bad signature/);
    } finally {
      stranger.close();
    }
  });
});

Deno.test("HttpsPeerClient.request() rejects with a TimeoutError after timeoutMs", async () => {
  let release!: () => void;
  const never = new Promise<Response>((r) => release = () => r(new Response("{}")));
  await withPeer(() => never, async (peers) => {
    await rejects(peers.request(HOST, "GET", "/slow"), { name: "TimeoutError" });
    release();
  }, { timeoutMs: 100 });
});

Deno.test("HttpsPeerClient.request() rejects a peer whose certificate another CA issued", async () => {
  const stranger = await tlsFixture("other");
  await withPeer(echo, async (peers) => {
    await rejects(peers.request(HOST, "GET", "/x"));
  }, { caPem: stranger.ca.certPem });
});

Deno.test("HttpsPeerClient.request() rejects when nothing listens", async () => {
  const l = Deno.listen({ hostname: HOST, port: 0 });
  const port = l.addr.port;
  l.close();
  const peers = new HttpsPeerClient({ caPem: tls.ca.certPem, key: KEY, selfId: 7, port });
  try {
    await rejects(peers.request(HOST, "GET", "/x"), /ECONNREFUSED|refused/i);
  } finally {
    peers.close();
  }
});

/** Reads a stream of slices whole, copying each before the next is asked for. */
async function readSlices(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const s of body) parts.push(s.slice());
  return concatBytes(parts);
}

for (const server of ["peer", "deno"] as const) {
  Deno.test(`HttpsPeerClient.stream() streams a multi-MiB answer whole and in order (${server} server)`, async () => {
    const bytes = patternBytes(6 << 20);
    let auth = "";
    await withPeer((req) => {
      auth = req.headers.get("authorization") ?? "";
      return new Response(slicedStream(bytes, 70_000), {
        headers: { "content-type": "application/octet-stream" },
      });
    }, async (peers) => {
      const body = await peers.stream(
        HOST,
        "POST",
        "/chunks",
        { hashes: [] },
        AbortSignal.timeout(5000),
      );
      assertEquals(await readSlices(body), bytes);
      assert(auth.length > 0, "the request was signed (the server checked it)");
    }, { server });
  });
}

Deno.test("HttpsPeerClient.stream() rejects with the peer's error message", async () => {
  await withPeer(
    () => Response.json({ error: "replication is not running on this host" }, { status: 404 }),
    async (peers) => {
      await rejects(
        peers.stream(HOST, "POST", "/chunks", {}, AbortSignal.timeout(5000)),
        { message: "replication is not running on this host" },
      );
    },
  );
});

Deno.test("HttpsPeerClient.stream() rejects a server whose certificate the cluster CA did not sign", async () => {
  const other = await tlsFixture("other-cluster");
  await withPeer(() => new Response("secret"), async (peers) => {
    await rejects(peers.stream(HOST, "POST", "/chunks", {}, AbortSignal.timeout(5000)));
  }, { caPem: other.ca.certPem });
});

Deno.test("HttpsPeerClient.stream() ends the body's iteration with the signal's reason on abort", async () => {
  let cancelled!: () => void;
  const serverStopped = new Promise<void>((resolve) => cancelled = resolve);
  await withPeer(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull: (ctl) => ctl.enqueue(new Uint8Array(65536)),
          cancel: () => cancelled(),
        }),
      ),
    async (peers) => {
      const abort = new AbortController();
      const body = await peers.stream(HOST, "POST", "/endless", {}, abort.signal);
      await rejects(
        (async () => {
          let n = 0;
          for await (const s of body) {
            n += s.length;
            if (n > 1 << 20) abort.abort(new Error("transfer cancelled"));
          }
        })(),
        { message: "transfer cancelled" },
      );
      // The connection is closed: the server stops producing the answer.
      await serverStopped;
    },
  );
});

// Behavioural check of TCP_NODELAY, against Deno.serve (which older hosts run, Nagle on at
// the server too) so that only the client's side counts. A 2 KB body went out in two
// writes; the second waited ~40 ms for the server's delayed ACK: 20 took ~880 ms.
Deno.test("HttpsPeerClient sends 20 sequential 2 KB POSTs in well under 20 × 40 ms", async () => {
  await withPeer(() => Response.json({ ok: true }), async (peers) => {
    const body = { hashes: Array.from({ length: 30 }, () => "a".repeat(64)) };
    await peers.request(HOST, "POST", "/peer/v1/replication/trees", body);
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) {
      assertEquals(await peers.request(HOST, "POST", "/peer/v1/replication/trees", body), {
        ok: true,
      });
    }
    const ms = performance.now() - t0;
    assert(ms < 300, `20 requests took ${ms.toFixed(0)} ms`);
  }, { server: "deno" });
});
