import assert from "node:assert/strict";
import { call, type Fake, fake, login } from "../_fake_deps.ts";
import type { EventQuery } from "../../../db/event_log.ts";

const T0 = Date.UTC(2026, 0, 31, 12);

function seed(f: Fake) {
  f.events.appendMany([
    { ts: T0, host: "web1", level: "info", kind: "peer.up", message: "web2 is up" },
    { ts: T0 + 1000, host: "web1", level: "warn", kind: "peer.suspect", message: "web3 missed 3" },
    { ts: T0 + 2000, host: "web1", level: "error", kind: "peer.down", message: "web3 is DOWN" },
    { ts: T0 + 3000, host: "web1", level: "info", kind: "view.changed", message: "epoch 8" },
    {
      ts: T0 + 4000,
      host: "web1",
      level: "info",
      kind: "admin.action",
      message: '=cmd|"calc", quoted',
      details: { by: "admin" },
    },
  ]);
}

Deno.test("GET /api/events returns this host's newest events first, with the total", async () => {
  const f = fake();
  seed(f);
  const c = await login(f.app);
  const body = await (await call(f.app, c, "GET", "/api/events?limit=2")).json();
  assert.equal(body.host, "web1");
  assert.equal(body.total, 5);
  assert.deepEqual(body.events.map((e: { id: number }) => e.id), [5, 4]);
  const page2 = await (await call(f.app, c, "GET", "/api/events?limit=2&offset=2")).json();
  assert.deepEqual(page2.events.map((e: { id: number }) => e.id), [3, 2]);
});

Deno.test("GET /api/events filters by kind, level, search and time", async () => {
  const f = fake();
  seed(f);
  const c = await login(f.app);
  const ids = async (qs: string) =>
    (await (await call(f.app, c, "GET", `/api/events?${qs}`)).json()).events.map((
      e: { id: number },
    ) => e.id);
  assert.deepEqual(await ids("kind=peer.*"), [3, 2, 1]);
  assert.deepEqual(await ids("level=warn"), [3, 2]);
  assert.deepEqual(await ids("search=down"), [3]);
  assert.deepEqual(await ids(`since=${T0 + 1000}&until=${T0 + 3000}`), [3, 2]);
  const iso = new Date(T0 + 3000).toISOString();
  assert.deepEqual(await ids(`since=${encodeURIComponent(iso)}`), [5, 4]);
  assert.deepEqual(await ids("afterId=3"), [5, 4]);
});

Deno.test("bad event filters are one 400 listing each problem", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "GET", "/api/events?level=loud&limit=0&since=yesterday&x=1");
  assert.equal(res.status, 400);
  const body = await res.json();
  for (
    const p of [
      'unknown parameter "x": use host, kind, level, search, since, until, afterId, limit, offset or format',
      "since must be an ISO time (2026-01-31T12:00:00Z) or ms since the epoch",
      'limit must be a whole number from 1 to 10000, got "0"',
      'level must be debug, info, warn or error, got "loud"',
    ]
  ) assert.ok(body.problems.includes(p), p);
  assert.equal(body.problems.length, 4);
});

Deno.test("format=csv exports the matches as an attachment, formulas defused", async () => {
  const f = fake();
  seed(f);
  const c = await login(f.app);
  const res = await call(f.app, c, "GET", "/api/events?format=csv&kind=admin.*");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/csv; charset=utf-8");
  assert.match(
    res.headers.get("content-disposition")!,
    /^attachment; filename="events-web1-2026-01-31T12-00-00-000Z\.csv"$/,
  );
  assert.equal(
    await res.text(),
    "id,time,host,level,kind,message,details\r\n" +
      `5,2026-01-31T12:00:04.000Z,web1,info,admin.action,"'=cmd|""calc"", quoted","{""by"":""admin""}"\r\n`,
  );
});

Deno.test("format=json exports the matches as a JSON file", async () => {
  const f = fake();
  seed(f);
  const c = await login(f.app);
  const res = await call(f.app, c, "GET", "/api/events?format=json&level=error");
  assert.match(res.headers.get("content-disposition")!, /\.json"$/);
  const events = JSON.parse(await res.text());
  assert.deepEqual(events.map((e: { kind: string }) => e.kind), ["peer.down"]);
});

Deno.test("another host's events come from deps.remoteEvents with the whole query", async () => {
  const asked: { host: string; query: EventQuery }[] = [];
  const f = fake({
    remoteEvents: (host, query) => {
      asked.push({ host, query });
      return Promise.resolve([
        { id: 9, ts: T0, host, level: "info", kind: "peer.up", message: "hi", details: {} },
      ]);
    },
  });
  const c = await login(f.app);
  const body = await (await call(f.app, c, "GET", "/api/events?host=web2&level=info&search=hi"))
    .json();
  assert.equal(body.host, "web2");
  assert.equal(body.total, null);
  assert.equal(body.events[0].id, 9);
  assert.deepEqual(asked, [{
    host: "web2",
    query: { level: "info", search: "hi", limit: 100, offset: 0 },
  }]);
});

Deno.test("events of an unknown host are 404; of another host without remoteEvents 400", async () => {
  const f = fake();
  const c = await login(f.app);
  assert.equal((await call(f.app, c, "GET", "/api/events?host=web9")).status, 404);
  const res = await call(f.app, c, "GET", "/api/events?host=web2");
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /not available here/);
});
