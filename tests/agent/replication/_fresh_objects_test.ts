import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { FreshObjects } from "../../../agent/replication/_fresh_objects.ts";

const A = "ab".repeat(32), B = "cd".repeat(32), T = "ef".repeat(32);

Deno.test("FreshObjects answers gc's names and lists its trees and file inodes", () => {
  const f = new FreshObjects();
  f.addTree(T);
  f.addFile(A, ".644.1000");
  f.addFile(A, ".600.1000");
  f.addFile(A, ".644.1000");
  assertEquals(f.size, 3);
  assertEquals([f.has(T), f.has(`${A}.644.1000`), f.has(`${A}.600.1000`)], [true, true, true]);
  assertEquals([f.has(B), f.has(`${A}.644.2000`), f.has(`${T}.644.1000`)], [false, false, false]);
  assertEquals([...f.trees()], [T]);
  assertEquals([...f.files()].sort(), [[A, ".600.1000"], [A, ".644.1000"]]);
});

Deno.test("FreshObjects.merge() takes in another set's objects", () => {
  const a = new FreshObjects(), b = new FreshObjects();
  a.addFile(A, ".644.1");
  b.addFile(A, ".644.1");
  b.addFile(B, ".755.2");
  b.addTree(T);
  a.merge(b);
  assertEquals(a.size, 3);
  assertEquals([a.has(`${B}.755.2`), a.has(T)], [true, true]);
});
