import assert from "node:assert/strict";
import { randomHex, randomHostId } from "../../../agent/security/random_id.ts";

Deno.test("randomHex() returns two lowercase hex characters per byte", () => {
  assert.match(randomHex(1), /^[0-9a-f]{2}$/);
  assert.match(randomHex(16), /^[0-9a-f]{32}$/);
});

Deno.test("randomHex() does not repeat itself", () => {
  const seen = new Set(Array.from({ length: 100 }, () => randomHex(16)));
  assert.equal(seen.size, 100);
});

Deno.test("randomHex() refuses a byte count that is not a whole number from 1 to 65536", () => {
  for (const bad of [0, -1, 1.5, 65537, NaN]) {
    assert.throws(() => randomHex(bad), /needs a whole number of bytes from 1 to 65536/);
  }
});

Deno.test("randomHostId() returns a non-zero u32", () => {
  for (let i = 0; i < 1000; i++) {
    const id = randomHostId();
    assert.ok(Number.isInteger(id) && id > 0 && id <= 0xffff_ffff, `bad id ${id}`);
  }
});

Deno.test("randomHostId() draws again when the source yields zero", () => {
  const draws = [0, 0, 7];
  let calls = 0;
  const id = randomHostId((array) => {
    array[0] = draws[calls++];
    return array;
  });
  assert.equal(id, 7);
  assert.equal(calls, 3);
});
