import assert from "node:assert/strict";
import {
  generate,
  parseReply,
  parseTrafficArgs,
  request,
  TRAFFIC_DEFAULTS,
  trafficArgs,
} from "../../../agent/lab/traffic.ts";
import type { TrafficResult } from "../../../agent/lab/outage.ts";
import { parseBackendArgs, response, serve } from "../../../agent/lab/web_backend.ts";

Deno.test("parseTrafficArgs() applies flags over the defaults, and trafficArgs() inverts it", () => {
  const o = parseTrafficArgs(["--target", "198.18.0.11:80", "--rate-ms", "5", "--count", "7"]);
  assert.deepEqual(o, { ...TRAFFIC_DEFAULTS, target: "198.18.0.11:80", rateMs: 5, count: 7 });
  assert.deepEqual(parseTrafficArgs(trafficArgs(o)), o);
  assert.deepEqual(parseTrafficArgs([]), TRAFFIC_DEFAULTS);
});

Deno.test("parseTrafficArgs() says what is wrong", () => {
  assert.throws(() => parseTrafficArgs(["--target", "cluster:80"]), /not ADDRESS:PORT/);
  assert.throws(() => parseTrafficArgs(["--count", "0"]), /--count must be a positive integer/);
  assert.throws(() => parseTrafficArgs(["--rate"]), /unknown option --rate/);
  assert.throws(() => parseTrafficArgs(["--count"]), /--count needs a value/);
  assert.throws(() => parseTrafficArgs(["--source-ports", "fixed"]), /must be "varied"/);
});

Deno.test("parseReply() takes the host from the body of a 200", () => {
  assert.deepEqual(parseReply(new TextDecoder().decode(response("h2"))), { ok: true, host: "h2" });
  assert.deepEqual(parseReply(""), { ok: false, error: "closed without a reply" });
  assert.deepEqual(parseReply("HTTP/1.0 503 Busy\r\n\r\n"), {
    ok: false,
    error: "bad status: HTTP/1.0 503 Busy",
  });
  assert.deepEqual(parseReply("HTTP/1.0 200 OK\r\n\r\n\n"), { ok: false, error: "empty body" });
});

Deno.test("parseBackendArgs() requires a name and checks numbers", () => {
  assert.deepEqual(parseBackendArgs(["--name", "h1", "--cpu-ms", "3"]), {
    name: "h1",
    port: 80,
    address: "0.0.0.0",
    cpuMs: 3,
  });
  assert.throws(() => parseBackendArgs([]), /--name is required/);
  assert.throws(() => parseBackendArgs(["--name", "h1", "--port", "x"]), /--port must be/);
});

/** A web backend on 127.0.0.1 (any free port), for the generator to talk to. */
async function withBackend(fn: (port: number) => Promise<void>): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = serve(listener, { name: "h9", port: 0, address: "127.0.0.1", cpuMs: 0 });
  try {
    await fn(listener.addr.port);
  } finally {
    listener.close();
    await served.catch(() => {});
  }
}

Deno.test("request() reads the backend's name; a closed port is 'refused'", async () => {
  await withBackend(async (port) => {
    assert.deepEqual(await request("127.0.0.1", port, 1000), { ok: true, host: "h9" });
  });
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = free.addr.port;
  free.close();
  assert.deepEqual(await request("127.0.0.1", port, 1000), { ok: false, error: "refused" });
});

Deno.test("request() gives up after its timeout when the server never answers", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const c of silent) held.push(c);
  })();
  try {
    const t0 = performance.now();
    assert.deepEqual(await request("127.0.0.1", silent.addr.port, 100), {
      ok: false,
      error: "timeout",
    });
    assert.ok(performance.now() - t0 < 900);
  } finally {
    silent.close();
    for (const c of held) c.close();
    await accepting.catch(() => {});
  }
});

Deno.test("generate() stops at count, one result per request, each from a new port", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const ports = new Set<number>();
  const answer = response("h9");
  const serving = (async () => {
    for await (const c of listener) {
      ports.add((c.remoteAddr as Deno.NetAddr).port);
      await c.read(new Uint8Array(1024)).catch(() => null);
      await c.write(answer).catch(() => 0);
      c.close();
    }
  })();
  try {
    const results: TrafficResult[] = [];
    const target = `127.0.0.1:${listener.addr.port}`;
    await generate(
      { ...TRAFFIC_DEFAULTS, target, rateMs: 2, count: 20 },
      (r) => results.push(r),
      new AbortController().signal,
    );
    assert.equal(results.length, 20);
    assert.deepEqual(results.map((r) => r.seq).sort((a, b) => a - b), [...Array(20).keys()]);
    assert.ok(results.every((r) => r.ok && r.host === "h9"), JSON.stringify(results));
    assert.equal(ports.size, 20);
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});

Deno.test("generate() stops at its duration, and at once when stopped", async () => {
  await withBackend(async (port) => {
    const results: TrafficResult[] = [];
    const o = { ...TRAFFIC_DEFAULTS, target: `127.0.0.1:${port}`, rateMs: 10, durationMs: 100 };
    const t0 = performance.now();
    await generate(o, (r) => results.push(r), new AbortController().signal);
    assert.ok(performance.now() - t0 < 1000);
    assert.ok(results.length >= 3 && results.length <= 12, `${results.length} results`);

    const stop = new AbortController();
    stop.abort();
    const none: TrafficResult[] = [];
    await generate({ ...o, durationMs: 60_000 }, (r) => none.push(r), stop.signal);
    assert.equal(none.length, 0);
  });
});
