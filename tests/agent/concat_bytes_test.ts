import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { concatBytes } from "../../agent/concat_bytes.ts";

Deno.test("concatBytes() joins byte arrays in order, empty ones included", () => {
  const parts = [new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array([3]).subarray(0, 1)];
  assertEquals(concatBytes(parts), new Uint8Array([1, 2, 3]));
  assertEquals(concatBytes([]), new Uint8Array(0));
});
