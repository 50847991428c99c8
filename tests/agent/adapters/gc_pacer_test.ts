import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { mallocTrim, startGcPacer, v8Collector } from "../../../agent/adapters/gc_pacer.ts";

const MB = 1 << 20;
const tick = () => new Promise((r) => setTimeout(r, 25));

Deno.test("the pacer collects once the garbage grew by its budget, then measures from there", async () => {
  let held = 100 * MB;
  const log: string[] = [];
  const pacer = startGcPacer({
    budgetBytes: 10 * MB,
    everyMs: 5,
    usage: () => ({ heapUsed: held, external: 0, rss: 0 }),
    collect: () => (log.push(`collect at ${held / MB}`), held = 60 * MB),
    trim: () => log.push("trim"),
    beforeCollect: () => log.push("before"),
  });
  try {
    held = 109 * MB;
    await tick();
    assertEquals(log, [], "9 MB of growth is under the budget");
    held = 110 * MB;
    await tick();
    assertEquals(log, ["before", "collect at 110", "trim"]);
    held = 69 * MB; // 9 MB over what the collection left
    await tick();
    assertEquals(pacer.collections, 1);
    held = 71 * MB;
    await tick();
    assertEquals(pacer.collections, 2);
  } finally {
    pacer.stop();
  }
  held = 500 * MB;
  await tick();
  assertEquals(pacer.collections, 2, "nothing after stop()");
});

Deno.test("the pacer measures growth from the lowest point since the last collection", async () => {
  let held = 100 * MB, collections = 0;
  const pacer = startGcPacer({
    budgetBytes: 10 * MB,
    everyMs: 5,
    usage: () => ({ heapUsed: held - 20 * MB, external: 20 * MB, rss: 0 }),
    collect: () => collections++,
    trim: () => {},
  });
  try {
    held = 80 * MB; // V8 collected by itself
    await tick();
    held = 91 * MB;
    await tick();
    assertEquals(collections, 1, "11 MB above the low point");
  } finally {
    pacer.stop();
  }
});

Deno.test("past the RSS ceiling the pacer collects on the tight budget", async () => {
  let held = 100 * MB, rss = 120 * MB, collections = 0;
  const pacer = startGcPacer({
    budgetBytes: 40 * MB,
    tightBudgetBytes: 10 * MB,
    rssCeilingBytes: 150 * MB,
    everyMs: 5,
    usage: () => ({ heapUsed: held, external: 0, rss }),
    collect: () => (collections++, held = 100 * MB),
    trim: () => {},
  });
  try {
    held = 120 * MB;
    await tick();
    assertEquals(collections, 0, "20 MB of growth under a 120 MB RSS: within the loose budget");
    rss = 160 * MB;
    await tick();
    assertEquals(collections, 1, "the same growth past the ceiling");
    held = 105 * MB;
    await tick();
    assertEquals(collections, 1, "5 MB since: under even the tight budget");
  } finally {
    pacer.stop();
  }
});

Deno.test("V8's collector is available at run time and frees dead buffers", () => {
  const gc = v8Collector();
  assert(gc, "no collector");
  let junk: Uint8Array[] | undefined = Array.from({ length: 64 }, () => new Uint8Array(1 << 20));
  const before = Deno.memoryUsage().external;
  assert(junk.length === 64 && before >= 64 * MB, `external ${before}`);
  junk = undefined;
  gc();
  const after = Deno.memoryUsage().external;
  assert(before - after >= 60 * MB, `external went from ${before} to ${after}`);
});

Deno.test("malloc_trim is reachable through FFI", () => {
  const trim = mallocTrim();
  assert(trim, "no malloc_trim (needs glibc and --allow-ffi)");
  trim();
});
