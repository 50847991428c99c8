import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  INITIAL_VERDICT,
  nextVerdict,
  type Verdict,
} from "../../../agent/health/health_verdict.ts";

const RULES = { rise: 2, fall: 3 };
const fail = { ok: false, reason: "refused" }, pass = { ok: true, reason: "200" };

function run(results: { ok: boolean; reason: string }[]): { verdict: Verdict; flips: boolean[] } {
  let v = INITIAL_VERDICT;
  const flips: boolean[] = [];
  for (const r of results) {
    const n = nextVerdict(v, r, RULES);
    v = n.verdict;
    flips.push(n.changed);
  }
  return { verdict: v, flips };
}

Deno.test("nextVerdict() declares unhealthy only after `fall` consecutive failures", () => {
  const r = run([fail, fail, fail]);
  assertEquals(r.flips, [false, false, true]);
  assertEquals(r.verdict.healthy, false);
  assertEquals(r.verdict.reason, "refused");
});

Deno.test("nextVerdict() resets the streak when a probe agrees with the verdict", () => {
  const r = run([fail, fail, pass, fail, fail]);
  assertEquals(r.flips, [false, false, false, false, false]);
  assertEquals(r.verdict.healthy, true);
});

Deno.test("nextVerdict() needs `rise` consecutive successes to become healthy again", () => {
  const r = run([fail, fail, fail, pass, fail, pass, pass]);
  assertEquals(r.flips, [false, false, true, false, false, false, true]);
  assertEquals(r.verdict.healthy, true);
});
