/**
 * Split brains the core cannot prevent without a quorum — a partition, or a host frozen
 * past the dead time — and how soon it ends them: these pin the overlap of bucket plans
 * once the fault is over. (ownership.ts excuses them from duplicate_owner_ms.)
 */
import assert from "node:assert/strict";
import { SimCluster, type SimHost } from "../../../agent/sim/cluster.ts";

function warm(hosts: number, seed: number): SimCluster {
  const c = new SimCluster({ hosts, seed });
  c.startAll();
  c.runUntil(2000 + c.rng.between(0, 50));
  return c;
}

/** Some bucket is in two plans (of `only`'s, when given, against everyone else's). */
function overlap(c: SimCluster, only?: SimHost): boolean {
  const seen = new Map<number, SimHost>();
  for (const h of c.hosts) {
    for (const b of h.plan?.owned.default ?? []) {
      const other = seen.get(b);
      if (other && (!only || other === only || h === only)) return true;
      seen.set(b, h);
    }
  }
  return false;
}

Deno.test("a host resumed from a stall past the dead time gives up its stale buckets within two round trips", () => {
  for (const hosts of [3, 8]) {
    for (let seed = 1; seed <= 10; seed++) {
      const c = warm(hosts, seed);
      const h = c.host(c.rng.int(0, hosts - 1));
      c.pause(h.index, 600);
      c.runFor(599);
      assert.ok(overlap(c, h), "while frozen, its kernel still holds what the others took");
      c.runFor(1);
      const resumed = c.now;
      const end = c.runUntilTrue(() => !overlap(c, h), resumed + 1000);
      // Today: one heartbeat leg, then a map fetch (two legs) and adoption: 4 ms at 1 ms a leg.
      assert.ok(
        end !== undefined && end - resumed <= 5,
        `overlap for ${end! - resumed} ms (seed ${seed})`,
      );
    }
  }
});

Deno.test("after a partition heals, the two halves stop sharing buckets within a period and a fetch", () => {
  for (const hosts of [3, 8]) {
    for (let seed = 1; seed <= 10; seed++) {
      const c = warm(hosts, seed);
      const half = Math.ceil(hosts / 2);
      c.partition([
        c.hosts.slice(0, half).map((h) => h.index),
        c.hosts.slice(half).map((h) => h.index),
      ]);
      c.runFor(1000);
      assert.ok(overlap(c), "each half took the other's buckets");
      c.heal();
      const healed = c.now;
      const end = c.runUntilTrue(() => !overlap(c), healed + 1000);
      const bound = c.config.heartbeat.periodMs + 10;
      assert.ok(
        end !== undefined && end - healed <= bound,
        `overlap for ${end! - healed} ms (seed ${seed})`,
      );
    }
  }
});
