import assert from "node:assert/strict";
import {
  errorCounts,
  failedCount,
  hostCounts,
  hostShares,
  longestOutage,
  outages,
  summarize,
  type TrafficResult,
} from "../../../agent/lab/outage.ts";

/** A 10 ms stream from a pattern: "a" = answered by h1, "b" = by h2, "x" = failed. */
function stream(pattern: string, ms = 3): TrafficResult[] {
  return [...pattern].map((c, seq) =>
    c === "x"
      ? { seq, t: seq * 10, ok: false, error: "timeout", ms: 1000 }
      : { seq, t: seq * 10, ok: true, host: c === "a" ? "h1" : "h2", ms }
  );
}

Deno.test("outages() spans from the first failure to the next success", () => {
  assert.deepEqual(outages(stream("aaxxxbbxb")), [
    { startT: 20, durationMs: 30, failed: 3 },
    { startT: 70, durationMs: 10, failed: 1 },
  ]);
});

Deno.test("outages() ends a trailing run at the end of its last request", () => {
  assert.deepEqual(outages(stream("abxx")), [{ startT: 20, durationMs: 10 + 1000, failed: 2 }]);
});

Deno.test("outages() orders by start time, not by arrival", () => {
  const rs = stream("axxb");
  // Results arrive as requests finish: the failures (timeouts) come last.
  const arrived = [rs[0], rs[3], rs[1], rs[2]];
  assert.deepEqual(outages(arrived), [{ startT: 10, durationMs: 20, failed: 2 }]);
});

Deno.test("longestOutage() picks the longest run, and is undefined without failures", () => {
  assert.deepEqual(longestOutage(stream("axbxxxaxxa")), { startT: 30, durationMs: 30, failed: 3 });
  assert.equal(longestOutage(stream("abab")), undefined);
  assert.equal(longestOutage([]), undefined);
});

Deno.test("failedCount(), hostCounts() and hostShares() count what answered", () => {
  const rs = stream("aabxabaa");
  assert.equal(failedCount(rs), 1);
  assert.deepEqual(hostCounts(rs), { h1: 5, h2: 2 });
  assert.deepEqual(hostShares(rs), { h1: 5 / 7, h2: 2 / 7 });
  assert.deepEqual(hostShares(stream("xx")), {});
});

Deno.test("summarize() puts the totals, the longest outage and the errors together", () => {
  const rs = stream("abxxa");
  rs[3] = { ...rs[3], error: "refused" };
  assert.deepEqual(errorCounts(rs), { timeout: 1, refused: 1 });
  assert.deepEqual(summarize(rs), {
    total: 5,
    ok: 3,
    failed: 2,
    longestOutageMs: 20,
    hosts: { h1: 2, h2: 1 },
    errors: { timeout: 1, refused: 1 },
  });
});
