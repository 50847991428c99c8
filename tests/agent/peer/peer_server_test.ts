import { deepStrictEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import https from "node:https";
import { servePeerApi } from "../../../agent/peer/peer_server.ts";
import { patternBytes, readAll, slicedStream, tlsFixture } from "./_tls_fixture.ts";

const tls = await tlsFixture();
const HOST = "127.0.0.1";

/** Runs `fn` against a peer server on a free port, with a fetch client trusting the CA. */
async function withServer(
  handler: (req: Request) => Response | Promise<Response>,
  fn: (url: string, client: Deno.HttpClient) => Promise<void>,
): Promise<void> {
  const server = await servePeerApi(
    { hostname: HOST, port: 0, cert: tls.host.certPem, key: tls.host.keyPem },
    handler,
  );
  const client = Deno.createHttpClient({ caCerts: [tls.ca.certPem] });
  try {
    await fn(`https://${HOST}:${server.port}`, client);
  } finally {
    client.close();
    await server.shutdown();
  }
}

Deno.test("servePeerApi() answers with the handler's status, headers and body", async () => {
  const headers = new Headers({ "x-peer": "h1", "content-type": "application/json" });
  headers.append("set-cookie", "a=1");
  headers.append("set-cookie", "b=2");
  await withServer(
    () => new Response(JSON.stringify({ ok: true }), { status: 201, headers }),
    async (url, client) => {
      const res = await fetch(`${url}/peer/v1/x`, { client });
      assertEquals(res.status, 201);
      assertEquals(res.headers.get("x-peer"), "h1");
      assertEquals(res.headers.get("content-type"), "application/json");
      assertEquals(res.headers.getSetCookie(), ["a=1", "b=2"]);
      assertEquals(await res.json(), { ok: true });
    },
  );
});

Deno.test("servePeerApi() hands the handler the method, path, query, headers and body", async () => {
  await withServer(
    async (req) =>
      Response.json({
        method: req.method,
        path: new URL(req.url).pathname,
        query: new URL(req.url).search,
        auth: req.headers.get("authorization"),
        body: await req.text(),
      }),
    async (url, client) => {
      const body = JSON.stringify({ hashes: ["é".repeat(3000)] });
      const res = await fetch(`${url}/peer/v1/replication/trees?x=1`, {
        client,
        method: "POST",
        headers: { authorization: "Appliance 1.2.abc" },
        body,
      });
      assertEquals(await res.json(), {
        method: "POST",
        path: "/peer/v1/replication/trees",
        query: "?x=1",
        auth: "Appliance 1.2.abc",
        body,
      });
    },
  );
});

Deno.test("servePeerApi() streams a 6 MiB answer whole and in order", async () => {
  const bytes = patternBytes(6 << 20);
  await withServer(
    () => new Response(slicedStream(bytes, 100_000)),
    async (url, client) => {
      const res = await fetch(`${url}/chunks`, { client, method: "POST", body: "{}" });
      assertEquals(await readAll(res.body!), bytes);
    },
  );
});

Deno.test("servePeerApi() answers 500 with the error when the handler throws", async () => {
  await withServer(
    () => {
      throw new Error("boom");
    },
    async (url, client) => {
      const res = await fetch(`${url}/x`, { client });
      assertEquals(res.status, 500);
      assertEquals(await res.json(), { error: "internal error: boom" });
    },
  );
});

Deno.test("servePeerApi() stops producing an answer when the client goes away", async () => {
  let cancelled!: () => void;
  const wasCancelled = new Promise<void>((r) => cancelled = r);
  await withServer(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull: (ctl) => ctl.enqueue(new Uint8Array(64 * 1024)),
          cancel: () => cancelled(),
        }),
      ),
    async (url, client) => {
      const abort = new AbortController();
      const res = await fetch(`${url}/endless`, { client, signal: abort.signal });
      const reader = res.body!.getReader();
      await reader.read();
      abort.abort();
      await reader.cancel().catch(() => {});
      await wasCancelled;
    },
  );
});

Deno.test("servePeerApi() rejects saying what to check when the port is taken", async () => {
  const taken = Deno.listen({ hostname: HOST, port: 0 });
  try {
    await rejects(
      servePeerApi(
        { hostname: HOST, port: taken.addr.port, cert: tls.host.certPem, key: tls.host.keyPem },
        () => new Response(),
      ),
      new RegExp(`cannot serve the peer API on ${HOST}:${taken.addr.port}: .*ss -ltnp`),
    );
  } finally {
    taken.close();
  }
});

Deno.test("servePeerApi().shutdown() closes idle keep-alive connections at once", async () => {
  const server = await servePeerApi(
    { hostname: HOST, port: 0, cert: tls.host.certPem, key: tls.host.keyPem },
    () => new Response("ok"),
  );
  const agent = new https.Agent({ keepAlive: true, ca: tls.ca.certPem });
  try {
    const status = await new Promise<number>((resolve, reject) => {
      https.get({ host: HOST, port: server.port, path: "/", agent }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode!));
      }).on("error", reject);
    });
    assertEquals(status, 200);
    const t0 = performance.now();
    await server.shutdown();
    assert(performance.now() - t0 < 1000, "shutdown waited for an idle connection");
  } finally {
    agent.destroy();
  }
});

Deno.test("servePeerApi().shutdown() lets a request in flight finish, then ends", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  let arrived!: () => void;
  const inFlight = new Promise<void>((r) => arrived = r);
  const server = await servePeerApi(
    { hostname: HOST, port: 0, cert: tls.host.certPem, key: tls.host.keyPem },
    async () => {
      arrived();
      await held;
      return new Response("late but whole");
    },
  );
  const agent = new https.Agent({ keepAlive: true, ca: tls.ca.certPem });
  try {
    const answer = new Promise<string>((resolve, reject) => {
      https.get({ host: HOST, port: server.port, path: "/", agent }, (res) => {
        let text = "";
        res.on("data", (b) => text += b);
        res.on("end", () => resolve(text));
      }).on("error", reject);
    });
    await inFlight;
    let stopped = false;
    const stopping = server.shutdown().then(() => stopped = true);
    await Promise.resolve();
    assert(!stopped, "shutdown did not wait for the request in flight");
    release();
    assertEquals(await answer, "late but whole");
    const t0 = performance.now();
    await stopping;
    assert(performance.now() - t0 < 1000, "shutdown waited for the keep-alive timeout");
  } finally {
    agent.destroy();
  }
});

// Behavioural check of TCP_NODELAY. Deno's fetch leaves Nagle on and delays its ACKs; the
// answers come in two pieces written apart (as the chunk stream, which reads files between
// pieces). With Nagle on at the server the second piece waited ~40 ms for the client's
// delayed ACK: 20 answers took ~880 ms.
Deno.test("servePeerApi() answers 20 sequential requests in well under 20 × 40 ms", async () => {
  const piece = new TextEncoder().encode("z".repeat(2000));
  await withServer(
    () => {
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(ctl) {
            if (sent++ === 2) return ctl.close();
            await new Promise((r) => setTimeout(r, 0)); // a separate write for each piece
            ctl.enqueue(piece);
          },
        }),
      );
    },
    async (url, client) => {
      await (await fetch(`${url}/warm`, { client })).text();
      const t0 = performance.now();
      for (let i = 0; i < 20; i++) {
        assertEquals((await (await fetch(`${url}/x`, { client })).text()).length, 4000);
      }
      const ms = performance.now() - t0;
      assert(ms < 300, `20 requests took ${ms.toFixed(0)} ms`);
    },
  );
});
