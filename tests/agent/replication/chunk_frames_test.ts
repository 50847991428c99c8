import assert from "node:assert/strict";
import {
  encodeFrame,
  FLAG_DEFLATE,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  looksIncompressible,
} from "../../../agent/replication/chunk_frames.ts";
import { deflateRawSync } from "node:zlib";
import { hashBytes } from "../../../agent/replication/tree.ts";
import { randomBytes } from "../../_fakes/random_bytes.ts";
import { concatBytes } from "../../../agent/concat_bytes.ts";

const text = (n: number) =>
  new TextEncoder().encode("<p>The quick brown fox jumps over the lazy dog.</p>\n".repeat(n));

Deno.test("encodeFrame() lays out hash, flags, big-endian length and payload", () => {
  const bytes = new Uint8Array([1, 2, 3]);
  const hash = hashBytes(bytes);
  const f = encodeFrame(hash, bytes);
  assert.equal(f.length, FRAME_HEADER_BYTES + 3);
  assert.equal(
    Array.from(f.subarray(0, 32), (b) => b.toString(16).padStart(2, "0")).join(""),
    hash,
  );
  assert.deepEqual([...f.subarray(32)], [0, 0, 0, 0, 3, 1, 2, 3]);
});

Deno.test("encodeFrame() compresses text and leaves random data alone", () => {
  const t = text(100), r = randomBytes(10_000);
  const ft = encodeFrame(hashBytes(t), t, { compress: true });
  assert.equal(ft[32], FLAG_DEFLATE);
  assert.ok(ft.length < t.length / 4, `${ft.length}`);
  const fr = encodeFrame(hashBytes(r), r, { compress: true });
  assert.equal(fr[32], 0);
  assert.equal(fr.length, FRAME_HEADER_BYTES + r.length);
  assert.equal(encodeFrame(hashBytes(t), t)[32], 0, "no compression unless asked");
});

Deno.test("encodeFrame() refuses a malformed hash", () => {
  assert.throws(() => encodeFrame("abc", new Uint8Array(1)), /"abc" is not a SHA-256 hex hash/);
});

Deno.test("FrameDecoder round-trips small frames split at every slice size", () => {
  const chunks = [text(3), randomBytes(200, 9), new Uint8Array(0), text(1), randomBytes(7, 3)];
  const frames = chunks.map((c, i) => encodeFrame(hashBytes(c), c, { compress: i % 2 === 0 }));
  assert.equal(frames[0][32], FLAG_DEFLATE);
  const stream = concatBytes(frames);
  for (let size = 1; size <= 50; size++) {
    const d = new FrameDecoder();
    const got = [];
    for (let off = 0; off < stream.length; off += size) {
      got.push(...d.push(stream.subarray(off, off + size)));
    }
    assert.ok(d.idle, `idle after slices of ${size}`);
    assert.deepEqual(got.map((g) => g.hash), chunks.map(hashBytes), `slices of ${size}`);
    got.forEach((g, i) => {
      assert.deepEqual(g.bytes, chunks[i]);
      assert.equal(g.wireBytes, frames[i].length);
    });
  }
});

Deno.test("FrameDecoder round-trips large frames pushed whole or in uneven slices", () => {
  const chunks = [randomBytes(300_000, 5), text(5000)];
  const stream = concatBytes(chunks.map((c) => encodeFrame(hashBytes(c), c, { compress: true })));
  assert.deepEqual(new FrameDecoder().push(stream).map((g) => g.bytes), chunks);
  const d = new FrameDecoder();
  const got = [];
  for (let off = 0, step = 1; off < stream.length; off += step, step = step * 3 % 65_521) {
    got.push(...d.push(stream.subarray(off, off + step)));
  }
  assert.deepEqual(got.map((g) => g.bytes), chunks);
});

Deno.test("FrameDecoder is not idle while a frame is partial", () => {
  const c = text(2), f = encodeFrame(hashBytes(c), c);
  const d = new FrameDecoder();
  assert.ok(d.idle);
  assert.deepEqual(d.push(f.subarray(0, 10)), []);
  assert.ok(!d.idle);
  assert.deepEqual(d.push(f.subarray(10, 40)), []);
  assert.ok(!d.idle);
  assert.equal(d.push(f.subarray(40)).length, 1);
  assert.ok(d.idle);
});

Deno.test("FrameDecoder rejects unknown flags, oversized lengths and bad deflate data", () => {
  const c = text(2), f = encodeFrame(hashBytes(c), c);
  const flags = f.slice();
  flags[32] = 0x82;
  assert.throws(() => new FrameDecoder().push(flags), /unknown flags 0x82/);
  const long = f.slice();
  new DataView(long.buffer).setUint32(33, 8 * 1024 * 1024 + 1);
  assert.throws(() => new FrameDecoder().push(long), /payload of 8388609 bytes/);
  const garbage = f.slice();
  garbage[32] = FLAG_DEFLATE;
  garbage.set(randomBytes(c.length, 4), FRAME_HEADER_BYTES);
  assert.throws(() => new FrameDecoder().push(garbage), /cannot inflate/);
});

Deno.test("FrameDecoder refuses a frame that inflates beyond 8 MiB", () => {
  const packed = deflateRawSync(new Uint8Array(9 * 1024 * 1024), { level: 1 });
  const f = new Uint8Array(FRAME_HEADER_BYTES + packed.length);
  f[32] = FLAG_DEFLATE;
  new DataView(f.buffer).setUint32(33, packed.length);
  f.set(packed, FRAME_HEADER_BYTES);
  assert.throws(() => new FrameDecoder().push(f), /cannot inflate/);
});

Deno.test("encodeFrame() refuses a payload beyond 8 MiB", () => {
  const big = new Uint8Array(8 * 1024 * 1024 + 1);
  assert.throws(() => encodeFrame(hashBytes(big), big), /8388609 bytes \(at most 8388608\)/);
});

Deno.test("FrameDecoder rejects random garbage", () => {
  assert.throws(() => new FrameDecoder().push(randomBytes(1000, 77)), /malformed chunk frame/);
});

Deno.test("looksIncompressible() is true for random bytes only", () => {
  assert.equal(looksIncompressible(randomBytes(4096, 3)), true);
  assert.equal(looksIncompressible(text(100).subarray(0, 4096)), false);
  assert.equal(looksIncompressible(new Uint8Array(4096)), false);
  // A 1 KiB random block repeated: deflate shrinks it, and its entropy is low enough to try.
  const block = randomBytes(1024, 4);
  const repeated = concatBytes([block, block, block, block]);
  assert.equal(looksIncompressible(repeated), false);
  assert.ok(deflateRawSync(repeated, { level: 1 }).length < repeated.length * 0.9);
});
