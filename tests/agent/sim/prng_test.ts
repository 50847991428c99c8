import assert from "node:assert/strict";
import { Prng } from "../../../agent/sim/prng.ts";

Deno.test("Prng gives the same stream for the same seed", () => {
  const a = new Prng(42), b = new Prng(42);
  for (let i = 0; i < 1000; i++) assert.equal(a.u32(), b.u32());
});

Deno.test("Prng gives unrelated streams for neighbouring seeds", () => {
  const a = new Prng(1), b = new Prng(2);
  let same = 0;
  for (let i = 0; i < 1000; i++) if (a.u32() === b.u32()) same++;
  assert.ok(same < 3, `${same} equal draws`);
});

Deno.test("Prng works from seed 0", () => {
  const r = new Prng(0);
  const seen = new Set(Array.from({ length: 100 }, () => r.u32()));
  assert.ok(seen.size > 95);
});

Deno.test("Prng.float() stays in [0, 1) with a mean near 1/2", () => {
  const r = new Prng(7);
  let sum = 0;
  for (let i = 0; i < 100_000; i++) {
    const x = r.float();
    assert.ok(x >= 0 && x < 1, `float ${x}`);
    sum += x;
  }
  assert.ok(Math.abs(sum / 100_000 - 0.5) < 0.005, `mean ${sum / 100_000}`);
});

Deno.test("Prng.int() covers both bounds evenly", () => {
  const r = new Prng(9);
  const counts = new Array(6).fill(0);
  const n = 60_000;
  for (let i = 0; i < n; i++) counts[r.int(0, 5)]++;
  // Chi-square with 5 degrees of freedom; 20.5 is the 0.1 % critical value.
  const chi = counts.reduce((acc, c) => acc + (c - n / 6) ** 2 / (n / 6), 0);
  assert.ok(chi < 20.5, `chi-square ${chi} for ${counts}`);
});

Deno.test("Prng.chance(p) comes true at rate p", () => {
  const r = new Prng(11);
  let hits = 0;
  for (let i = 0; i < 100_000; i++) if (r.chance(0.05)) hits++;
  assert.ok(Math.abs(hits / 100_000 - 0.05) < 0.003, `rate ${hits / 100_000}`);
});

Deno.test("Prng.fork() gives a stream that is reproducible but not the parent's", () => {
  const a = new Prng(5).fork(), b = new Prng(5).fork(), parent = new Prng(5);
  parent.u32();
  const xs = Array.from({ length: 10 }, () => a.u32());
  assert.deepEqual(Array.from({ length: 10 }, () => b.u32()), xs);
  assert.notDeepEqual(Array.from({ length: 10 }, () => parent.u32()), xs);
});

Deno.test("Prng.pick() refuses an empty list", () => {
  assert.throws(() => new Prng(1).pick([]), /at least one item/);
});
