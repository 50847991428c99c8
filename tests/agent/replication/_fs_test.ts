import { deepStrictEqual as assertEquals, rejects as assertRejects } from "node:assert/strict";
import { hashFile, Limiter, readSliceSync, SerialQueue } from "../../../agent/replication/_fs.ts";
import { hashBytes } from "../../../agent/replication/tree.ts";
import { randomBytes, withTempDir } from "./_content_fixtures.ts";

Deno.test("Limiter runs at most n tasks at once, the waiting ones in FIFO order", async () => {
  const l = new Limiter(2);
  let running = 0, most = 0;
  const order: number[] = [];
  await Promise.all(Array.from({ length: 20 }, (_, i) =>
    l.run(async () => {
      running++, most = Math.max(most, running);
      order.push(i);
      await new Promise((r) => setTimeout(r, 1));
      running--;
    })));
  assertEquals(most, 2);
  assertEquals(order, Array.from({ length: 20 }, (_, i) => i));
});

Deno.test("hashFile() hashes files around and past its first buffer's size", async () => {
  await withTempDir(async (dir) => {
    for (const size of [0, 1, 65_535, 65_536, 65_537, 3 * (1 << 20) + 5]) {
      const bytes = randomBytes(size, size);
      await Deno.writeFile(`${dir}/f`, bytes);
      assertEquals(await hashFile(`${dir}/f`), hashBytes(bytes), `size ${size}`);
    }
  });
});

Deno.test("readSliceSync() reads a slice or a whole file up to a limit, with its mtime", async () => {
  await withTempDir(async (dir) => {
    const bytes = randomBytes(10_000, 1);
    await Deno.writeFile(`${dir}/f`, bytes);
    await Deno.utime(`${dir}/f`, 1_000, 1_700_000_000.5);
    assertEquals(readSliceSync(`${dir}/f`, 100, 50, 1000)?.bytes, bytes.subarray(100, 150));
    const whole = readSliceSync(`${dir}/f`, 0, undefined, 10_000);
    assertEquals(whole?.bytes, bytes);
    assertEquals(whole?.mtimeMs, 1_700_000_000_500);
    assertEquals(readSliceSync(`${dir}/f`, 0, undefined, 9_999), undefined);
    assertEquals(readSliceSync(`${dir}/f`, 9_990, 20, 1000), undefined);
    assertEquals(readSliceSync(`${dir}/missing`, 0, 10, 1000), undefined);
  });
});

Deno.test("SerialQueue runs tasks one at a time in call order, past a failed one", async () => {
  const q = new SerialQueue();
  const log: string[] = [];
  const task = (name: string, fail = false) => async () => {
    log.push(`${name} start`);
    await new Promise((r) => setTimeout(r, 5));
    log.push(`${name} end`);
    if (fail) throw new Error(`${name} failed`);
    return name;
  };
  const a = q.run(task("a")), b = q.run(task("b", true)), c = q.run(task("c"));
  assertEquals(await a, "a");
  await assertRejects(b, { message: "b failed" });
  assertEquals(await c, "c");
  assertEquals(log, ["a start", "a end", "b start", "b end", "c start", "c end"]);
});
