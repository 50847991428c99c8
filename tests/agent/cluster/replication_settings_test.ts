import assert from "node:assert/strict";
import {
  DEFAULT_REPLICATION,
  validateReplication,
} from "../../../agent/cluster/replication_settings.ts";

Deno.test("validateReplication() accepts the defaults and a configured exporter", () => {
  assert.deepEqual(validateReplication(DEFAULT_REPLICATION, [7]), []);
  assert.deepEqual(
    validateReplication({ ...DEFAULT_REPLICATION, exporter: 7, source: "/srv/www" }, [7]),
    [],
  );
});

Deno.test("validateReplication() names each bad field", () => {
  const errs = validateReplication({
    ...DEFAULT_REPLICATION,
    exporter: 9,
    source: "www",
    keep: 0,
    consistency: "eventual" as "strict",
    massDeletePercent: 101,
    stageTimeoutMs: 10,
  }, [7]);
  assert.deepEqual(errs, [
    "replication.exporter 9 is not a host of this cluster",
    'replication.source must be an absolute path such as /srv/www, got "www"',
    "replication.keep must be 1..100",
    "replication.consistency must be relaxed or strict",
    "replication.massDeletePercent must be 0..100",
    "replication.stageTimeoutMs must be 1000..86400000",
  ]);
});

Deno.test("validateReplication() refuses the sources the panel and the CLI refuse", () => {
  const errs = (source: string) =>
    validateReplication({ ...DEFAULT_REPLICATION, exporter: 7, source }, [7]);
  assert.deepEqual(errs("/"), [
    "replication.source cannot be / (the whole filesystem): give an absolute path such as /srv/www",
  ]);
  assert.deepEqual(errs("/srv/../etc"), [
    "replication.source must not contain . or .. segments: give the directory's real path",
  ]);
});
