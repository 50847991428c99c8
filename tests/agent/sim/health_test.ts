import assert from "node:assert/strict";
import type { Fault } from "../../../agent/sim/cluster.ts";
import { isFalseSuspicion, separated, unhealthy } from "../../../agent/sim/health.ts";

const opts = { windowMs: 350, pauseToleranceMs: 200 };

Deno.test("unhealthy() covers before the start, crashes until restart, and long pauses", () => {
  const faults: Fault[] = [
    { kind: "start", host: 0, at: 10 },
    { kind: "pause", host: 0, at: 100, until: 250 },
    { kind: "pause", host: 0, at: 300, until: 800 },
    { kind: "crash", host: 0, at: 1000 },
    { kind: "restart", host: 0, at: 1500 },
    { kind: "leave", host: 0, at: 3000 },
    { kind: "crash", host: 1, at: 5 },
  ];
  assert.deepEqual(unhealthy(faults, 0, 200), [
    { from: -Infinity, to: 10 },
    { from: 300, to: 800 },
    { from: 1000, to: 1500 },
    { from: 3000, to: Infinity },
  ]);
});

Deno.test("unhealthy() counts a restart of a running host as an instant down", () => {
  const faults: Fault[] = [{ kind: "start", host: 0, at: 0 }, {
    kind: "restart",
    host: 0,
    at: 700,
  }];
  assert.deepEqual(unhealthy(faults, 0, 200).slice(1), [{ from: 700, to: 700 }]);
});

Deno.test("separated() finds the partitions that split two hosts", () => {
  const faults: Fault[] = [
    { kind: "partition", at: 100, until: 300, groups: [[0, 1], [2]] },
    { kind: "partition", at: 500, until: Infinity, groups: [[0], [1]] },
  ];
  assert.deepEqual(separated(faults, 0, 2), [{ from: 100, to: 300 }]);
  assert.deepEqual(separated(faults, 1, 0), [{ from: 500, to: Infinity }]);
  assert.deepEqual(separated(faults, 2, 3), []);
});

Deno.test("isFalseSuspicion() blames a down of a healthy, reachable host only", () => {
  const faults: Fault[] = [
    { kind: "start", host: 0, at: 0 },
    { kind: "start", host: 1, at: 0 },
    { kind: "start", host: 2, at: 0 },
    { kind: "crash", host: 1, at: 1000 },
    { kind: "pause", host: 2, at: 2000, until: 2150 },
    { kind: "pause", host: 2, at: 3000, until: 3500 },
    { kind: "partition", at: 5000, until: 6000, groups: [[0], [2]] },
  ];
  assert.equal(isFalseSuspicion(faults, 0, 2, 900, opts), true, "healthy");
  assert.equal(isFalseSuspicion(faults, 0, 1, 1250, opts), false, "crashed");
  assert.equal(isFalseSuspicion(faults, 0, 2, 2200, opts), true, "paused within tolerance");
  assert.equal(isFalseSuspicion(faults, 0, 2, 3300, opts), false, "paused past tolerance");
  assert.equal(isFalseSuspicion(faults, 0, 2, 3800, opts), false, "just after that pause");
  assert.equal(isFalseSuspicion(faults, 0, 2, 4000, opts), true, "long after it");
  assert.equal(isFalseSuspicion(faults, 2, 0, 5250, opts), false, "partitioned away");
  assert.equal(isFalseSuspicion(faults, 0, 2, 6300, opts), false, "just healed");
  assert.equal(isFalseSuspicion(faults, 0, 2, 7000, opts), true, "long healed");
});
