import assert from "node:assert/strict";
import { fold, median, table } from "../../../agent/sim/report.ts";
import type { Metrics } from "../../../agent/sim/scenarios.ts";

const run = (detect: number | null, converge: number | null): Metrics => ({
  scenario: "crash",
  hosts: 3,
  detect_ms: detect,
  converge_ms: converge,
  buckets_moved: 341,
  false_suspicions: 0,
  duplicate_owner_ms: 0,
});

Deno.test("median() skips nulls and averages the middle pair", () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([null, 5, null]), 5);
  assert.equal(median([null]), null);
});

Deno.test("fold() keeps one run as it is and adds runs and max for several", () => {
  assert.deepEqual(fold([run(250, 251)]), run(250, 251));
  const row = fold([run(250, 251), run(230, 231), run(240, null)]);
  assert.equal(row.detect_ms, 240);
  assert.equal(row.converge_ms, 241);
  assert.equal(row.runs, 3);
  assert.equal(row.max?.detect_ms, 250);
  assert.equal(row.max?.converge_ms, 251);
});

Deno.test("table() aligns columns and shows - for a metric that does not apply", () => {
  const out = table([run(249.94, null)]);
  const [head, rule, row] = out.split("\n");
  assert.match(head, /^scenario\s+hosts\s+detect_ms\s+converge_ms/);
  assert.match(rule, /^-+\s+-+/);
  assert.match(row, /^crash\s+3\s+249\.9\s+-\s+341\s+0\s+0$/);
});
