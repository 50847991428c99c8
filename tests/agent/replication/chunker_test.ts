import assert from "node:assert/strict";
import {
  CHUNK_AVG,
  CHUNK_MAX,
  CHUNK_MIN,
  Chunker,
  chunkLengths,
} from "../../../agent/replication/chunker.ts";
import { hashBytes } from "../../../agent/replication/tree.ts";
import { randomBytes } from "../../_fakes/random_bytes.ts";

function rng(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5;
    return (x >>> 0) % n;
  };
}

function chunkHashes(bytes: Uint8Array): string[] {
  let off = 0;
  return chunkLengths(bytes).map((len) => hashBytes(bytes.subarray(off, off += len)));
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

Deno.test("chunkLengths() of empty input is []", () => {
  assert.deepEqual(chunkLengths(new Uint8Array(0)), []);
  const c = new Chunker();
  assert.deepEqual(c.update(new Uint8Array(0)), []);
  assert.deepEqual(c.finish(), []);
});

Deno.test("chunkLengths() gives input shorter than the minimum as one chunk", () => {
  assert.deepEqual(chunkLengths(new Uint8Array(100)), [100]);
  assert.deepEqual(chunkLengths(randomBytes(CHUNK_MIN)), [CHUNK_MIN]);
});

Deno.test("Chunker gives the same boundaries however the input is sliced", () => {
  const data = randomBytes(3 << 20, 7);
  const whole = chunkLengths(data);
  assert.ok(whole.length > 20);
  for (const seed of [1, 2, 3, 4, 5]) {
    const next = rng(seed);
    const c = new Chunker();
    const got: number[] = [];
    for (let off = 0; off < data.length;) {
      const size = seed === 1 ? 1 + next(16) : 1 + next(200_000);
      got.push(...c.update(data.subarray(off, off += size)));
    }
    got.push(...c.finish());
    assert.deepEqual(got, whole, `slicing seed ${seed}`);
  }
});

Deno.test("chunkLengths() keeps every chunk but the last within [min, max]", () => {
  for (const data of [randomBytes(4 << 20, 3), new Uint8Array(1 << 20).fill(0x41)]) {
    const lens = chunkLengths(data);
    assert.equal(sum(lens), data.length);
    for (const len of lens.slice(0, -1)) assert.ok(len >= CHUNK_MIN && len <= CHUNK_MAX, `${len}`);
    assert.ok(lens[lens.length - 1] <= CHUNK_MAX);
  }
});

Deno.test("chunkLengths() cuts constant data at the maximum", () => {
  const lens = chunkLengths(new Uint8Array(CHUNK_MAX * 3 + 5));
  assert.deepEqual(lens, [CHUNK_MAX, CHUNK_MAX, CHUNK_MAX, 5]);
});

Deno.test("chunkLengths() averages near the target size on random data", () => {
  const data = randomBytes(16 << 20, 11);
  const mean = data.length / chunkLengths(data).length;
  assert.ok(mean > CHUNK_AVG * 0.8 && mean < CHUNK_AVG * 1.3, `mean ${mean}`);
});

Deno.test("chunkLengths() honours custom sizes", () => {
  const opts = { min: 1024, avg: 4096, max: 16384 };
  const data = randomBytes(1 << 20, 5);
  const lens = chunkLengths(data, opts);
  for (const len of lens.slice(0, -1)) assert.ok(len >= 1024 && len <= 16384);
  const mean = data.length / lens.length;
  assert.ok(mean > 4096 * 0.8 && mean < 4096 * 1.3, `mean ${mean}`);
});

Deno.test("a one-byte insertion changes at most 3 chunks", () => {
  const data = randomBytes(8 << 20, 13);
  const before = chunkHashes(data);
  for (const at of [0, 12345, 4 << 20, data.length - 1]) {
    const edited = new Uint8Array(data.length + 1);
    edited.set(data.subarray(0, at)), edited[at] = 0x5a, edited.set(data.subarray(at), at + 1);
    const after = chunkHashes(edited);
    const old = new Set(before), now = new Set(after);
    assert.ok(after.filter((h) => !old.has(h)).length <= 3, `new chunks at ${at}`);
    assert.ok(before.filter((h) => !now.has(h)).length <= 3, `lost chunks at ${at}`);
  }
});

Deno.test("Chunker refuses inconsistent sizes", () => {
  assert.throws(() => new Chunker({ min: 100, avg: 50, max: 200 }), /0 < min < avg < max/);
  assert.throws(() => new Chunker({ min: 0 }), /invalid chunk sizes/);
});
