import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { FileIndex, SUFFIX_POOL_MAX } from "../../../agent/replication/_file_index.ts";

const A = "ab".repeat(32), B = "cd".repeat(32);

Deno.test("FileIndex counts and lists its (hash, suffix) pairs through adds and removes", () => {
  const ix = new FileIndex();
  ix.add(A, ".644.1");
  ix.add(A, ".644.1");
  ix.add(A, ".600.1");
  ix.add(A, ".600.2");
  ix.add(B, ".755.3");
  assertEquals(ix.size, 4);
  assertEquals([...ix].sort(), [[A, ".600.1"], [A, ".600.2"], [A, ".644.1"], [B, ".755.3"]]);
  ix.remove(A, ".600.1");
  ix.remove(A, ".600.9");
  ix.remove(B, ".755.3");
  ix.remove(B, ".755.3");
  assertEquals(ix.size, 2);
  assertEquals([...ix].sort(), [[A, ".600.2"], [A, ".644.1"]]);
  assertEquals([ix.has(A, ".644.1"), ix.any(B)], [true, undefined]);
});

Deno.test("FileIndex answers the same after its suffix pool starts over", () => {
  const idx = new FileIndex();
  const h = "a".repeat(64);
  // More distinct suffixes come and go than the pool keeps: it is reset on the way.
  const last = SUFFIX_POOL_MAX + 10;
  for (let i = 0; i <= last; i++) {
    idx.add(h, `.644.${i}`);
    if (i > 0) idx.remove(h, `.644.${i - 1}`);
  }
  assertEquals(idx.size, 1);
  assertEquals(idx.has(h, `.644.${last}`), true);
  assertEquals(idx.has(h, `.644.${last - 1}`), false);
  idx.add("b".repeat(64), `.644.${last}`);
  assertEquals([...idx], [[h, `.644.${last}`], ["b".repeat(64), `.644.${last}`]]);
});
