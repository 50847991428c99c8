import assert from "node:assert/strict";
import { SimCluster } from "../../../agent/sim/cluster.ts";
import { OwnershipWatch } from "../../../agent/sim/ownership.ts";

function started(hosts: number): { c: SimCluster; watch: OwnershipWatch } {
  const c = new SimCluster({ hosts, seed: 4 });
  const watch = new OwnershipWatch(c);
  c.startAll();
  c.runUntil(2000);
  return { c, watch };
}

Deno.test("OwnershipWatch sees no duplicate owner in a healthy cluster", () => {
  const { c, watch } = started(5);
  c.crash(3);
  c.runFor(1000);
  assert.equal(watch.duplicateMs, 0);
  assert.equal(watch.first, undefined);
});

Deno.test("OwnershipWatch times a bucket held by two hosts that see each other", () => {
  const { c, watch } = started(3);
  const [h1, h2] = [c.host(0), c.host(1)];
  const stolen = h2.plan!.owned.default[0];
  h1.plan = { ...h1.plan!, owned: { default: [...h1.plan!.owned.default, stolen] } };
  const t0 = c.now;
  watch.check();
  c.runFor(100);
  assert.deepEqual(watch.first, { at: t0, what: "default", bucket: stolen, hosts: ["h1", "h2"] });
  assert.equal(watch.duplicateMs, 100);
});

Deno.test("OwnershipWatch excuses a split brain until the cluster converges again", () => {
  const { c, watch } = started(4);
  c.partition([[0, 1], [2, 3]]);
  c.runFor(2000);
  assert.equal(watch.duplicateMs, 0, "both halves hold buckets, but that is a split brain");
  c.heal();
  c.runFor(1000);
  assert.equal(watch.duplicateMs, 0);
  assert.ok(watch.splitMs > 1000, `split brain for ${watch.splitMs} ms`);
});

Deno.test("OwnershipWatch counts two default hosts as a duplicate", () => {
  const { c, watch } = started(3);
  const h3 = c.host(2);
  h3.plan = { ...h3.plan!, defaultHost: true };
  watch.check();
  assert.equal(watch.first?.what, "default-host");
});
