import assert from "node:assert/strict";
import { call, fake, login } from "../_fake_deps.ts";

const FAST = { minStatusGapMs: 0, pollMs: 5, refreshMs: 60_000, heartbeatMs: 60_000 };

/** Reads SSE messages (blocks separated by a blank line) as they arrive. */
function messages(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  return {
    async next(): Promise<{ event?: string; data?: string; id?: string; comment?: string }> {
      while (!buf.includes("\n\n")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the stream ended");
        buf += dec.decode(value);
      }
      const at = buf.indexOf("\n\n");
      const block = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const m: Record<string, string> = {};
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) m.comment = line.slice(1).trim();
        else m[line.slice(0, line.indexOf(":"))] = line.slice(line.indexOf(":") + 1).trim();
      }
      return m;
    },
    cancel: () => reader.cancel(),
  };
}

Deno.test("/api/stream sends the status at once and again after deps.onChange fires", async () => {
  const f = fake(
    { bucketOwners: () => ({ default: new Uint32Array([101, 102, 103, 101]) }) },
    FAST,
  );
  const c = await login(f.app);
  const res = await call(f.app, c, "GET", "/api/stream");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const sse = messages(res.body!);
  assert.deepEqual(await sse.next(), { retry: "2000" });
  const first = await sse.next();
  assert.equal(first.event, "status");
  const s1 = JSON.parse(first.data!);
  assert.equal(s1.epoch, 7);
  assert.deepEqual(s1.bucketOwners, { default: [101, 102, 103, 101] });

  f.states.web2 = "draining";
  f.fire();
  const second = await sse.next();
  assert.equal(second.event, "status");
  const s2 = JSON.parse(second.data!);
  assert.equal(s2.hosts.find((h: { name: string }) => h.name === "web2").state, "draining");
  assert.equal(s2.bucketOwners, undefined, "owners unchanged: not sent again");

  await sse.cancel();
  assert.equal(f.listeners.size, 0, "unsubscribed from onChange when the client went away");
});

Deno.test("/api/stream sends new event-log rows as `event` messages with their id", async () => {
  const f = fake({}, FAST);
  f.events.append({ ts: 1, host: "web1", level: "info", kind: "old", message: "before" });
  const c = await login(f.app);
  const sse = messages((await call(f.app, c, "GET", "/api/stream")).body!);
  await sse.next(); // retry
  await sse.next(); // status
  f.events.append({ ts: 2, host: "web1", level: "warn", kind: "peer.suspect", message: "new" });
  const m = await sse.next();
  assert.equal(m.event, "event");
  assert.equal(m.id, "2");
  assert.equal(JSON.parse(m.data!).message, "new");
  await sse.cancel();
});

Deno.test("/api/stream sends at most one status per minStatusGapMs, the last change included", async () => {
  const f = fake({}, { ...FAST, minStatusGapMs: 30 });
  const c = await login(f.app);
  const sse = messages((await call(f.app, c, "GET", "/api/stream")).body!);
  await sse.next();
  await sse.next();
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) f.fire();
  f.states.web3 = "stopped";
  f.fire();
  const m = await sse.next();
  assert.ok(performance.now() - t0 >= 20, "held back until the gap since the last status passed");
  assert.equal(JSON.parse(m.data!).hosts[2].state, "stopped");
  await sse.cancel();
});

Deno.test("/api/stream sends a heartbeat comment", async () => {
  const f = fake({}, { ...FAST, heartbeatMs: 5 });
  const c = await login(f.app);
  const sse = messages((await call(f.app, c, "GET", "/api/stream")).body!);
  await sse.next();
  await sse.next();
  assert.deepEqual(await sse.next(), { comment: "ping" });
  await sse.cancel();
});

Deno.test("/api/stream ends when deps.shutdown is aborted, so the server can stop", async () => {
  const stopping = new AbortController();
  const f = fake({ shutdown: stopping.signal }, FAST);
  const c = await login(f.app);
  const sse = messages((await call(f.app, c, "GET", "/api/stream")).body!);
  await sse.next();
  await sse.next();
  stopping.abort();
  await assert.rejects(sse.next(), /the stream ended/);
  assert.equal(f.listeners.size, 0);
});

Deno.test("/api/stream sends each host's traffic totals at once and every trafficMs", async () => {
  let total = 10;
  const f = fake(
    { traffic: () => Promise.resolve({ web1: total, web2: 4 }) },
    { ...FAST, trafficMs: 5 },
  );
  const c = await login(f.app);
  const sse = messages((await call(f.app, c, "GET", "/api/stream")).body!);
  await sse.next(); // retry
  await sse.next(); // status
  const first = await sse.next();
  assert.equal(first.event, "traffic");
  assert.deepEqual(JSON.parse(first.data!), { at: f.clock.now, totals: { web1: 10, web2: 4 } });
  total = 25;
  f.clock.now += 1000;
  const next = await sse.next();
  assert.equal(next.event, "traffic");
  assert.deepEqual(JSON.parse(next.data!), { at: f.clock.now, totals: { web1: 25, web2: 4 } });
  await sse.cancel();
});

Deno.test("/api/stream sends no traffic without deps.traffic", async () => {
  const f = fake({}, { ...FAST, trafficMs: 1, heartbeatMs: 20 });
  const c = await login(f.app);
  const sse = messages((await call(f.app, c, "GET", "/api/stream")).body!);
  await sse.next();
  await sse.next();
  assert.deepEqual(await sse.next(), { comment: "ping" }, "the heartbeat comes first");
  await sse.cancel();
});
