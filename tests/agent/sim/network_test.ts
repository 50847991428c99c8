import assert from "node:assert/strict";
import { FakeNetwork } from "../../../agent/sim/network.ts";
import { Prng } from "../../../agent/sim/prng.ts";

Deno.test("FakeNetwork loses packets at the configured rate", () => {
  const net = new FakeNetwork(new Prng(1), { loss: 0.05 });
  const n = 200_000;
  let lost = 0;
  for (let i = 0; i < n; i++) if (net.route("a", "b", 0) === undefined) lost++;
  // 5 % of 200k: sigma is ~97 packets; allow 5 sigma.
  assert.ok(Math.abs(lost - n * 0.05) < 500, `lost ${lost} of ${n}`);
  assert.deepEqual(net.stats, { sent: n, delivered: n - lost, lost, blocked: 0 });
});

Deno.test("FakeNetwork delays by delayMs ± jitter, never below zero", () => {
  const net = new FakeNetwork(new Prng(2), { delayMs: 5, jitterMs: 20 });
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < 10_000; i++) {
    const d = net.route("a", "b", 100)! - 100;
    lo = Math.min(lo, d), hi = Math.max(hi, d);
  }
  assert.ok(lo === 0 && hi <= 25 && hi > 24, `delays in [${lo}, ${hi}]`);
  const flat = new FakeNetwork(new Prng(2));
  assert.equal(flat.route("a", "b", 10), 11);
});

Deno.test("FakeNetwork is a pure function of its seed", () => {
  const run = () => {
    const net = new FakeNetwork(new Prng(9), { loss: 0.3, jitterMs: 3 });
    return Array.from({ length: 500 }, (_, i) => net.route("a", "b", i));
  };
  assert.deepEqual(run(), run());
});

Deno.test("FakeNetwork partitions block delivery both ways until healed", () => {
  const net = new FakeNetwork(new Prng(3));
  net.partition([["a", "b"], ["c"]]);
  assert.equal(net.route("a", "c", 0), undefined);
  assert.equal(net.route("c", "a", 0), undefined);
  assert.equal(net.route("a", "b", 0), 1);
  assert.equal(net.route("c", "c", 0), 1);
  assert.equal(net.streamDelay("b", "c"), undefined);
  assert.equal(net.stats.blocked, 2);
  net.heal();
  assert.equal(net.route("a", "c", 0), 1);
  assert.equal(net.streamDelay("b", "c"), 1);
});

Deno.test("FakeNetwork lets a host in no partition group reach everyone", () => {
  const net = new FakeNetwork(new Prng(4));
  net.partition([["a"], ["b"]]);
  assert.ok(net.canReach("x", "a") && net.canReach("b", "x"));
  assert.ok(!net.canReach("a", "b"));
});

Deno.test("FakeNetwork refuses bad settings and a host in two groups", () => {
  assert.throws(() => new FakeNetwork(new Prng(1), { loss: 1.5 }), /loss must be 0..1/);
  assert.throws(() => new FakeNetwork(new Prng(1), { delayMs: -1 }), /delayMs/);
  assert.throws(() => new FakeNetwork(new Prng(1)).partition([["a"], ["a"]]), /two groups/);
});
