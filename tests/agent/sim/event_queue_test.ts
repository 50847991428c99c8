import assert from "node:assert/strict";
import { EventQueue } from "../../../agent/sim/event_queue.ts";
import { Prng } from "../../../agent/sim/prng.ts";

Deno.test("EventQueue pops by time, then in the order events were pushed", () => {
  const q = new EventQueue<string>();
  q.push(5, "c");
  q.push(1, "a");
  q.push(5, "d");
  q.push(1, "b");
  q.push(3, "x");
  const out: string[] = [];
  for (let e = q.pop(); e; e = q.pop()) out.push(`${e.at}${e.item}`);
  assert.deepEqual(out, ["1a", "1b", "3x", "5c", "5d"]);
  assert.equal(q.size, 0);
  assert.equal(q.peekTime(), Infinity);
});

Deno.test("EventQueue agrees with a stable sort on random input, pushes mixed with pops", () => {
  const r = new Prng(3);
  const q = new EventQueue<number>();
  const model: { at: number; id: number }[] = [];
  let id = 0;
  for (let i = 0; i < 5000; i++) {
    if (r.chance(0.6) || model.length === 0) {
      const at = r.int(0, 50);
      q.push(at, id);
      model.push({ at, id: id++ });
    } else {
      model.sort((a, b) => a.at - b.at || a.id - b.id);
      const want = model.shift()!;
      const got = q.pop()!;
      assert.deepEqual({ at: got.at, id: got.item }, want);
    }
  }
});
