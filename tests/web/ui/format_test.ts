import assert from "node:assert/strict";
import {
  bucketRuns,
  checkRuleFields,
  formatAge,
  hostColors,
  matchesFilter,
} from "../../../web/ui/format.ts";

Deno.test("formatAge() picks a unit", () => {
  assert.equal(formatAge(null), "—");
  assert.equal(formatAge(42.4), "42 ms");
  assert.equal(formatAge(3200), "3.2 s");
  assert.equal(formatAge(300_000), "5 min");
});

Deno.test("bucketRuns() merges equal owners within a row only", () => {
  assert.deepEqual(bucketRuns([1, 1, 1, 2, 2, 2], 4), [
    { x: 0, y: 0, width: 3, owner: 1 },
    { x: 3, y: 0, width: 1, owner: 2 },
    { x: 0, y: 1, width: 2, owner: 2 },
  ]);
});

Deno.test("hostColors() gives distinct colours in id order, beyond the palette too", () => {
  const c = hostColors([{ id: 9 }, { id: 3 }]);
  const many = hostColors(Array.from({ length: 32 }, (_, i) => ({ id: i + 1 })));
  assert.equal(new Set(many.values()).size, 32);
  assert.equal(c.get(3), "#0072b2");
  assert.notEqual(c.get(9), c.get(3));
});

Deno.test("checkRuleFields() catches a bad id and bad ports before the server does", () => {
  const f = {
    id: "Web",
    ports: "90-80",
    protocol: "tcp",
    mode: "multiple",
    affinity: "none",
    load: "equal",
  };
  assert.equal(checkRuleFields(f, true).length, 2);
  assert.deepEqual(checkRuleFields({ ...f, id: "web", ports: "8000-8080" }, true), []);
  assert.deepEqual(
    checkRuleFields({ ...f, ports: "443" }, false),
    [],
    "the id of an edit is fixed",
  );
});

Deno.test("matchesFilter() applies level minimum, kind prefix and search", () => {
  const e = {
    id: 1,
    ts: 10,
    host: "a",
    level: "warn" as const,
    kind: "peer.down",
    message: "Web3 DOWN",
    details: {},
  };
  assert.ok(matchesFilter(e, { level: "info", kind: "peer.*", search: "down" }));
  assert.ok(!matchesFilter(e, { level: "error" }));
  assert.ok(!matchesFilter(e, { kind: "peer" }));
  assert.ok(!matchesFilter(e, { until: 10 }));
});
