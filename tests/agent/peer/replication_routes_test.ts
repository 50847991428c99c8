import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Hono } from "hono";
import { type ReplicationPeer, replicationRoutes } from "../../../agent/peer/replication_routes.ts";
import { FrameDecoder } from "../../../agent/replication/chunk_frames.ts";
import { hashBytes } from "../../../agent/replication/tree.ts";

/** The routes behind a stand-in for the signing middleware, which leaves the body in "body". */
function app(chunks: Map<string, Uint8Array>): Hono {
  const peer = {
    readChunk: (h: string) => Promise.resolve(chunks.get(h)),
  } as unknown as ReplicationPeer;
  const outer = new Hono();
  outer.use(async (c, next) => {
    c.set("body" as never, (await c.req.text()) as never);
    await next();
  });
  outer.route("/", replicationRoutes(() => peer));
  return outer;
}

function random(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(n, i + 65536)));
  return b;
}

Deno.test("POST /chunks streams the known chunks in order, small frames gathered into large writes", async () => {
  const chunks = new Map<string, Uint8Array>();
  const order: string[] = [];
  for (const size of [...Array(200).fill(1000), 300_000, 50]) {
    const bytes = random(size);
    const h = hashBytes(bytes);
    chunks.set(h, bytes);
    order.push(h);
  }
  const unknown = "ab".repeat(32);
  const res = await app(chunks).request("/chunks", {
    method: "POST",
    body: JSON.stringify({ hashes: [order[0], unknown, ...order.slice(1)] }),
  });
  assertEquals(res.status, 200);
  const decoder = new FrameDecoder();
  const got: string[] = [];
  let writes = 0;
  for await (const piece of res.body!) {
    writes++;
    for (const f of decoder.push(piece)) {
      assertEquals(f.bytes, chunks.get(f.hash));
      got.push(f.hash);
    }
  }
  assert(decoder.idle);
  assertEquals(got, order, "every known chunk, in the order asked, the unknown one left out");
  // 200 frames of ~1 KB go out in ~4 writes of 64 KiB, not 200.
  assert(writes <= 6, `${writes} writes for ${order.length} frames`);
});

Deno.test("POST /chunks refuses a list that is not SHA-256 hashes", async () => {
  const res = await app(new Map()).request("/chunks", {
    method: "POST",
    body: JSON.stringify({ hashes: ["nope"] }),
  });
  assertEquals(res.status, 400);
  assert(/SHA-256/.test((await res.json()).error));
});
