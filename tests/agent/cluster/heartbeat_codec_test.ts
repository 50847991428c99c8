import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import {
  bytesToHex,
  decodeHeartbeat,
  encodeHeartbeat,
  equalBytes,
  FLAG_AWAITING_MAP,
  FLAG_LEAVING,
  type Heartbeat,
  HEARTBEAT_BYTES,
  hexToBytes,
  WIRE_STATES,
} from "../../../agent/cluster/heartbeat_codec.ts";
import {
  CLUSTER_ID_BYTES,
  heartbeat,
  KEY,
  makeConfig,
  OTHER_KEY,
  reseal,
  rng,
} from "../../_fakes/cluster_fixtures.ts";

/** A heartbeat with a distinct value in every field, so a swapped offset shows. */
const FIXED: Heartbeat = {
  flags: FLAG_AWAITING_MAP,
  clusterId: CLUSTER_ID_BYTES,
  hostId: 0x01020304,
  incarnation: 7,
  seq: 0x0a0b0c0d,
  state: "draining",
  priority: 3,
  weight: 77,
  configVersion: 9,
  configDigest: hexToBytes("1122334455667788"),
  epoch: 0x0100,
  membersDigest: hexToBytes("aaaaaaaaaaaaaaa1"),
  viewDigest: hexToBytes("bbbbbbbbbbbbbbb2"),
  heard: 0x80000005,
  content: { offered: 0x11, committed: 0x2200, staged: 0x330000, served: 0x44000000 },
};

/** FIXED under KEY, 16 bytes a line: header, ids, state bytes, digests, bitmap, content generations, then the MAC. */
const GOLDEN = [
  "a71c0202a1b2c3d4e5f6071801020304",
  "000000070a0b0c0d02034d0000000009",
  "112233445566778800000100aaaaaaaa",
  "aaaaaaa1bbbbbbbbbbbbbbb280000005",
  "00000011000022000033000044000000",
  "d1aabc453dbc0d81a87393576d635a7c",
  "b69c7f33c8dda47c2ba1f83ba9ce2809",
].join("");

function decode(bytes: Uint8Array, key = KEY) {
  return decodeHeartbeat(bytes, CLUSTER_ID_BYTES, key);
}

Deno.test("encodeHeartbeat() and decodeHeartbeat() round-trip every field", () => {
  const bytes = encodeHeartbeat(FIXED, KEY);
  assert.deepEqual(decode(bytes), { ok: true, hb: FIXED });
});

Deno.test("decodeHeartbeat() round-trips every wire state and both flags", () => {
  const config = makeConfig(3);
  for (const state of WIRE_STATES) {
    for (const flags of [0, FLAG_LEAVING, FLAG_AWAITING_MAP, FLAG_LEAVING | FLAG_AWAITING_MAP]) {
      const hb = heartbeat(config, 102, { state, flags });
      assert.deepEqual(decode(encodeHeartbeat(hb, KEY)), { ok: true, hb }, `${state}/${flags}`);
    }
  }
});

Deno.test("decodeHeartbeat() round-trips u32 extremes", () => {
  const hb: Heartbeat = {
    ...FIXED,
    hostId: 0xffffffff,
    incarnation: 0xffffffff,
    seq: 0xffffffff,
    configVersion: 0xffffffff,
    epoch: 0xffffffff,
    heard: 0xffffffff,
    content: { offered: 0xffffffff, committed: 0xffffffff, staged: 0xffffffff, served: 0 },
    priority: 255,
    weight: 0,
  };
  assert.deepEqual(decode(encodeHeartbeat(hb, KEY)), { ok: true, hb });
});

Deno.test("encodeHeartbeat() makes exactly 112 bytes, well under 200", () => {
  const bytes = encodeHeartbeat(FIXED, KEY);
  assert.equal(bytes.length, 112);
  assert.equal(HEARTBEAT_BYTES, 112);
  assert.ok(bytes.length <= 200);
});

Deno.test("encodeHeartbeat() matches the golden bytes, so the format cannot drift silently", () => {
  assert.equal(bytesToHex(encodeHeartbeat(FIXED, KEY)), GOLDEN);
});

Deno.test("encodeHeartbeat() seals bytes 0..79 with HMAC-SHA256 under the cluster key", () => {
  const bytes = encodeHeartbeat(FIXED, KEY);
  const mac = createHmac("sha256", KEY).update(bytes.subarray(0, 80)).digest();
  assert.equal(bytesToHex(bytes.subarray(80)), bytesToHex(mac));
});

Deno.test("decodeHeartbeat() drops a packet of the wrong length as malformed", () => {
  const bytes = encodeHeartbeat(FIXED, KEY);
  for (const b of [bytes.subarray(0, 95), new Uint8Array([...bytes, 0]), new Uint8Array(0)]) {
    assert.deepEqual(decode(b), { ok: false, reason: "malformed" }, `length ${b.length}`);
  }
});

Deno.test("decodeHeartbeat() drops a bad magic as malformed", () => {
  for (const off of [0, 1]) {
    const bytes = encodeHeartbeat(FIXED, KEY);
    bytes[off] ^= 0xff;
    assert.deepEqual(decode(reseal(bytes)), { ok: false, reason: "malformed" });
  }
});

Deno.test("decodeHeartbeat() drops another wire version as version", () => {
  const bytes = encodeHeartbeat(FIXED, KEY);
  bytes[2] = 1;
  assert.deepEqual(decode(reseal(bytes)), { ok: false, reason: "version" });
});

Deno.test("decodeHeartbeat() tells another cluster apart from a forgery", () => {
  const other = encodeHeartbeat({ ...FIXED, clusterId: hexToBytes("0000000000000001") }, OTHER_KEY);
  assert.deepEqual(decode(other), { ok: false, reason: "foreign-cluster" });
});

Deno.test("decodeHeartbeat() drops a MAC made with another key as forged, naming the host", () => {
  const bytes = encodeHeartbeat(FIXED, OTHER_KEY);
  assert.deepEqual(decode(bytes), { ok: false, reason: "forged", hostId: 0x01020304 });
});

Deno.test("decodeHeartbeat() drops a heartbeat with any body byte flipped as forged", () => {
  const good = encodeHeartbeat(FIXED, KEY);
  // Every byte past magic, version and cluster id (which have their own reasons), and the MAC.
  for (let off = 3; off < 112; off++) {
    if (off >= 4 && off < 12) continue;
    const bytes = good.slice();
    bytes[off] ^= 0x01;
    const r = decode(bytes);
    assert.equal(r.ok, false, `offset ${off}`);
    assert.equal(!r.ok && r.reason, "forged", `offset ${off}`);
  }
});

Deno.test("decodeHeartbeat() drops an authentic heartbeat with an unknown state byte as malformed", () => {
  const bytes = encodeHeartbeat(FIXED, KEY);
  bytes[24] = WIRE_STATES.length;
  assert.deepEqual(decode(reseal(bytes)), { ok: false, reason: "malformed" });
  bytes[24] = 0xff;
  assert.deepEqual(decode(reseal(bytes)), { ok: false, reason: "malformed" });
});

Deno.test("decodeHeartbeat() drops an authentic heartbeat with the reserved byte set as malformed", () => {
  const bytes = encodeHeartbeat(FIXED, KEY);
  bytes[27] = 1;
  assert.deepEqual(decode(reseal(bytes)), { ok: false, reason: "malformed" });
});

Deno.test("decodeHeartbeat() reads a heartbeat from inside a larger buffer", () => {
  const bytes = encodeHeartbeat(FIXED, KEY);
  const big = new Uint8Array(300);
  big.set(bytes, 17);
  assert.deepEqual(decode(big.subarray(17, 17 + 112)), { ok: true, hb: FIXED });
});

Deno.test("decodeHeartbeat() never throws on garbage of random lengths", () => {
  const r = rng(42);
  const reasons = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const len = i % 2 === 0 ? 112 : Math.floor(r() * 300);
    const bytes = new Uint8Array(len).map(() => Math.floor(r() * 256));
    // Some 112-byte ones get a valid header (and cluster id), so the later checks see garbage.
    if (len === 112 && i % 3 > 0) bytes.set([0xa7, 0x1c, 2], 0);
    if (len === 112 && i % 3 > 1) bytes.set(CLUSTER_ID_BYTES, 4);
    const out = decode(bytes);
    assert.equal(out.ok, false);
    if (!out.ok) reasons.add(out.reason);
  }
  assert.deepEqual([...reasons].sort(), ["foreign-cluster", "forged", "malformed"]);
});

Deno.test("hexToBytes() and bytesToHex() are inverses", () => {
  assert.equal(bytesToHex(hexToBytes("00ff10a7")), "00ff10a7");
  assert.deepEqual(hexToBytes("a71c"), new Uint8Array([0xa7, 0x1c]));
});

Deno.test("equalBytes() compares length and content", () => {
  assert.equal(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
  assert.equal(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
  assert.equal(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0])), false);
});
