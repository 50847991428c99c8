import assert from "node:assert/strict";
import { call, fake, login } from "../_fake_deps.ts";

const NOW = Date.UTC(2026, 0, 31, 12);

Deno.test("GET /api/timeline returns the last hour's convergences and failovers, oldest first", async () => {
  const f = fake();
  f.events.appendMany([
    {
      ts: NOW - 2 * 3_600_000,
      host: "web1",
      level: "info",
      kind: "cluster.converged",
      message: "too old",
      details: { durationMs: 5, epoch: 3, members: ["web1"] },
    },
    {
      ts: NOW - 600_000,
      host: "web1",
      level: "warn",
      kind: "peer.down",
      message: "host web3 is down: silent for 1500 ms",
      details: { silentMs: 1500 },
    },
    { ts: NOW - 590_000, host: "web1", level: "info", kind: "view.changed", message: "epoch 8" },
    {
      ts: NOW - 599_000,
      host: "web1",
      level: "info",
      kind: "cluster.converged",
      message: "converged at epoch 8 in 812 ms",
      details: { durationMs: 812.4, epoch: 8, members: ["web1", "web2"] },
    },
  ]);
  const c = await login(f.app);
  const res = await call(f.app, c, "GET", "/api/timeline");
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {
    since: NOW - 3_600_000,
    until: NOW,
    entries: [
      {
        id: 2,
        ts: NOW - 600_000,
        kind: "peer.down",
        message: "host web3 is down: silent for 1500 ms",
        peer: "web3",
      },
      {
        id: 4,
        ts: NOW - 599_000,
        kind: "cluster.converged",
        message: "converged at epoch 8 in 812 ms",
        durationMs: 812,
        epoch: 8,
        members: ["web1", "web2"],
      },
    ],
  });
  const all = await (await call(f.app, c, "GET", `/api/timeline?since=${NOW - 3 * 3_600_000}`))
    .json();
  assert.deepEqual(all.entries.map((e: { id: number }) => e.id), [1, 2, 4]);
});

Deno.test("GET /api/timeline refuses a since that is not a time, and needs a session", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "GET", "/api/timeline?since=yesterday");
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /since must be ms since the epoch or an ISO time/);
  assert.equal((await f.app.request("/api/timeline")).status, 401);
});
