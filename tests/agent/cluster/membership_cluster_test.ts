/**
 * Membership across whole clusters: real nodes stepped on an in-memory network, so the
 * properties that need every host at once (one view, no bucket owned twice) are checked.
 */
import assert from "node:assert/strict";
import { ownedBy } from "../../../agent/cluster/bucket_map.ts";
import { convergedCluster, hostId, makeConfig, SimCluster } from "../../_fakes/cluster_fixtures.ts";

const A = hostId(1), B = hostId(2), C = hostId(3);

/** Fails if two live hosts' current plans own the same bucket of any rule. */
function assertNoSharedBuckets(sim: SimCluster) {
  const owner = new Map<string, number>();
  for (const s of sim.live()) {
    for (const [rule, buckets] of Object.entries(s.lastPlan?.owned ?? {})) {
      for (const b of buckets) {
        const key = `${rule}/${b}`;
        assert.equal(owner.get(key), undefined, `${key}: ${owner.get(key)} and ${s.selfId}`);
        owner.set(key, s.selfId);
      }
    }
  }
}

Deno.test("three hosts started together converge on one view that maps every bucket", () => {
  const sim = convergedCluster(3);
  assert.ok(sim.now <= 300, `converged at ${sim.now}`);
  const [a, b, c] = sim.live();
  assert.deepEqual(a.view.viewDigest, b.view.viewDigest);
  assert.deepEqual(a.view.viewDigest, c.view.viewDigest);
  assert.deepEqual(a.view.members, [A, B, C]);
  const owned = sim.live().flatMap((s) => s.lastPlan!.owned.default).sort((x, y) => x - y);
  assert.deepEqual(owned, Array.from({ length: 1024 }, (_, i) => i));
  assert.deepEqual(sim.live().map((s) => s.lastPlan!.defaultHost), [true, false, false]);
});

Deno.test("a crashed host's buckets are taken over within the detection bound, never twice", () => {
  const sim = convergedCluster(3);
  const t0 = sim.now;
  sim.crash(C);
  const t = sim.runWhile(
    () => !(sim.allConverged() && sim.live().every((s) => s.view.members.length === 2)),
    2_000,
  );
  // deadMisses*period plus one period for the confirmation, plus one tick of the sim.
  assert.ok(t - t0 <= 250 + 50 + 10, `took ${t - t0} ms`);
  sim.runUntil(t + 500, () => assertNoSharedBuckets(sim));
  const owned = sim.live().flatMap((s) => s.lastPlan!.owned.default);
  assert.equal(owned.length, 1024);
});

Deno.test("a host that one peer cannot hear stays in the view while another still hears it", () => {
  const sim = convergedCluster(3);
  sim.cut.add(`${C}>${A}`);
  sim.runUntil(sim.now + 2_000);
  for (const s of sim.live()) assert.deepEqual(s.view.members, [A, B, C], `host ${s.selfId}`);
  assert.equal(sim.node(A).peers.get(C)!.suspect, true);
});

Deno.test("a joining host takes buckets only once the cluster agrees, never twice", () => {
  const config = makeConfig(3);
  const sim = new SimCluster(config);
  sim.start(A);
  sim.start(B);
  sim.runWhile(() => !sim.allConverged() || sim.node(A).view.members.length !== 2, 2_000);
  const agreedA = ownedBy(sim.node(A).view.maps.default, A);
  sim.start(C);
  let cEarly: number[] | undefined;
  sim.runWhile(() => {
    assertNoSharedBuckets(sim);
    const a = sim.node(A);
    if (!a.converged) {
      for (const b of a.lastPlan!.owned.default) {
        assert.ok(agreedA.includes(b), `A took ${b} early`);
      }
    }
    if (!sim.node(C).converged) cEarly = sim.node(C).lastPlan?.owned.default;
    return !(sim.allConverged() && sim.node(A).view.members.length === 3);
  }, 2_000);
  assert.deepEqual(cEarly ?? [], []);
  assert.equal(sim.node(C).lastPlan!.owned.default.length, 341);
});

Deno.test("a restarted host rejoins and the cluster converges again", () => {
  const sim = convergedCluster(3);
  sim.crash(B);
  sim.runUntil(sim.now + 400);
  sim.start(B, 2);
  sim.runWhile(() => !(sim.allConverged() && sim.node(A).view.members.length === 3), 3_000);
  const digests = new Set(sim.live().map((s) => s.view.viewDigest.join()));
  assert.equal(digests.size, 1);
});

Deno.test("a leaving host is removed by its peers at once", () => {
  const sim = convergedCluster(3);
  sim.leave(C);
  // Same instant: no timeout was needed.
  for (const id of [A, B]) {
    assert.deepEqual(sim.node(id).view.members, [A, B], `host ${id}`);
    assert.equal(sim.node(id).peers.get(C)!.alive, false, `host ${id}`);
    assert.equal(sim.node(id).converged, true, `host ${id}`);
  }
});
