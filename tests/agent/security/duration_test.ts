import assert from "node:assert/strict";
import { parseDuration } from "../../../agent/security/duration.ts";

Deno.test("parseDuration() reads each unit in milliseconds", () => {
  assert.equal(parseDuration("500ms"), 500);
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("30m"), 1_800_000);
  assert.equal(parseDuration("1h"), 3_600_000);
  assert.equal(parseDuration("2d"), 172_800_000);
});

Deno.test("parseDuration() adds up compound durations and fractions", () => {
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("1m5s250ms"), 65_250);
  assert.equal(parseDuration("1.5h"), 5_400_000);
  assert.equal(parseDuration(" 10m \n"), 600_000);
  assert.equal(parseDuration("0s"), 0);
});

Deno.test("parseDuration() rejects what is not a duration", () => {
  for (const bad of ["", "30", "m", "1 h", "1H", "-5m", "1w", "1h-", "h1", ".5h", "1e3s", "1hh"]) {
    assert.equal(parseDuration(bad), undefined, `"${bad}" should be rejected`);
  }
});

Deno.test("parseDuration() rejects durations too long to count in milliseconds", () => {
  assert.equal(parseDuration("999999999999d"), undefined);
});
