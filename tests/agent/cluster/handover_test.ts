/**
 * Planned hand-overs: a host that releases buckets announces it only after the release took
 * effect, so the others may take them at once instead of after a convergence round.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  addressOf,
  agreeing,
  convergedNode,
  hostId,
  makeConfig,
  NodeHarness,
} from "../../_fakes/cluster_fixtures.ts";
import { FLAG_LEAVING } from "../../../agent/cluster/heartbeat_codec.ts";
import { ownedBy } from "../../../agent/cluster/bucket_map.ts";
import { handoffMs } from "../../../agent/cluster/converge.ts";

const C = hostId(3);

Deno.test("a bow-out lets a peer take the leaver's buckets before the cluster agrees", () => {
  const h = convergedNode(3);
  const before = ownedBy(h.state.view.maps.default, hostId(1));
  h.hear(C, { ...agreeing(h.state.view), flags: FLAG_LEAVING }, 260);
  assertEquals(h.state.converged, false, "h2 has not agreed yet");
  const now = ownedBy(h.state.view.maps.default, hostId(1));
  assert(now.length > before.length, "h1's share grew");
  assertEquals(h.state.lastPlan?.owned.default, now, "and it holds all of it already");
});

Deno.test("a peer that stops by timeout (a crash) is taken over only once the cluster agrees", () => {
  const h = convergedNode(3);
  const before = ownedBy(h.state.view.maps.default, hostId(1));
  // h2 keeps talking and stops hearing C; C is silent past the dead time.
  for (const t of [300, 350, 400, 450, 500]) {
    h.hear(hostId(2), { ...agreeing(h.state.view), heard: 0b011 }, t);
  }
  h.tick(510);
  assert(!h.state.view.members.includes(C), "C is out of the view");
  assertEquals(h.state.converged, false);
  assertEquals(h.state.lastPlan?.owned.default, before, "nothing taken before agreement");
  h.hear(hostId(2), { ...agreeing(h.state.view), heard: 0b011 }, 520);
  assertEquals(h.state.converged, true);
  assertEquals(h.state.lastPlan?.owned.default, ownedBy(h.state.view.maps.default, hostId(1)));
});

Deno.test("a drainstop hands each released bucket to the address of its new owner", () => {
  const h = convergedNode(3);
  const mine = ownedBy(h.state.view.maps.default, hostId(1));
  const r = h.command("drainstop", 260);
  const apply = r.effects.find((e) => e.kind === "applyBuckets");
  assert(apply?.kind === "applyBuckets" && apply.plan.owned.default.length === 0, "all released");
  const handoff = apply.handoff?.default ?? [];
  assertEquals(handoff.map((x) => x.bucket), mine, "every bucket it held, once");
  for (const { bucket, to } of handoff) {
    const owner = h.state.view.maps.default[bucket];
    assert(owner !== hostId(1), `bucket ${bucket} still maps to the drained host`);
    assertEquals(to, addressOf(h.state.config, owner));
  }
  assert(new Set(handoff.map((x) => x.to)).size === 2, "split between h2 and h3");
});

Deno.test("buckets gained, or lost to no live peer, are not handed off", () => {
  const h = convergedNode(3);
  const gained = h.hear(C, { ...agreeing(h.state.view), flags: FLAG_LEAVING }, 260);
  const apply = gained.effects.find((e) => e.kind === "applyBuckets");
  assert(apply?.kind === "applyBuckets", "h1 took the leaver's buckets");
  assertEquals(apply.handoff, undefined);
});

Deno.test("failover mode hands nothing off: one host holds the whole cluster IP", () => {
  const h = convergedNode(3, { mode: "failover" });
  const r = h.command("drainstop", 260);
  for (const e of r.effects) if (e.kind === "applyBuckets") assertEquals(e.handoff, undefined);
});

Deno.test("no hand-off while a peer announces a view that is neither ours nor the agreed one", () => {
  const h = convergedNode(3);
  // C announces some other view (as after a partition heals): its owners may differ.
  h.hear(C, { ...agreeing(h.state.view), viewDigest: new Uint8Array(32).fill(7) }, 260);
  const r = h.command("drainstop", 270);
  const apply = r.effects.find((e) => e.kind === "applyBuckets");
  assert(apply?.kind === "applyBuckets" && apply.plan.owned.default.length === 0, "released");
  assertEquals(apply.handoff, undefined);
});

Deno.test("a newcomer fetching the map plans to take forwarded flows, not yet its own", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  h.hear(hostId(2), agreeing(convergedNode(3).state.view), 10);
  assertEquals(h.state.awaitingMap, true);
  assertEquals(h.state.lastPlan?.accepting, false);
  assertEquals(h.state.lastPlan?.joining, true);
  h.command("suspend", 20);
  assertEquals(h.state.lastPlan?.joining, undefined, "a suspended newcomer takes nothing");
});

/** h1 drainstopped at 260 (converged 3-host node); the forwarding list it applied then. */
function drained() {
  const h = convergedNode(3);
  const r = h.command("drainstop", 260);
  const apply = r.effects.find((e) => e.kind === "applyBuckets");
  assert(apply?.kind === "applyBuckets" && apply.handoff, "a hand-off started");
  return { h, handoff: apply.handoff.default };
}

/** The hand-off list of the applyBuckets effect in `fx`, or "no effect". */
function applied(fx: { kind: string }[]) {
  const e = fx.find((x) => x.kind === "applyBuckets") as
    | { handoff?: Record<string, { to: string; ms: number }[]> }
    | undefined;
  return e ? e.handoff?.default ?? [] : "no effect";
}

Deno.test("forwarding lasts two leases, then the list is applied empty", () => {
  const { h, handoff } = drained();
  assertEquals(new Set(handoff.map((x) => x.ms)), new Set([handoffMs(h.state)]));
  assertEquals(handoffMs(h.state), 400);
  const v = agreeing(h.state.view);
  assertEquals(applied(h.hear(hostId(2), v, 600).effects), "no effect", "still running");
  assertEquals(applied(h.hear(hostId(2), v, 661).effects), []);
});

Deno.test("forwarding to a peer that bows out ends at once; the others go on", () => {
  const { h, handoff } = drained();
  const c = addressOf(h.state.config, C);
  assert(handoff.some((x) => x.to === c));
  const left = applied(h.hear(C, { ...agreeing(h.state.view), flags: FLAG_LEAVING }, 270).effects);
  assert(left !== "no effect" && left.length > 0, "the list was applied again");
  assert(left.every((x) => x.to !== c && x.ms === 390), JSON.stringify(left.slice(0, 2)));
});

Deno.test("all forwarding ends when a peer announces a view that is neither ours nor agreed", () => {
  const { h } = drained();
  const foreign = { ...agreeing(h.state.view), viewDigest: new Uint8Array(32).fill(7) };
  assertEquals(applied(h.hear(C, foreign, 270).effects), []);
});

Deno.test("a newcomer applies its first plan, forwarded flows only, before its first heartbeat", () => {
  // Peers forward a released bucket's SYNs as soon as they hear the newcomer: without its
  // rules it would answer the SYN but drop the rest of the flow (sent to the cluster MAC).
  const h = new NodeHarness(makeConfig(3), C);
  const fx = h.tick(0).effects;
  const apply = fx.findIndex((e) => e.kind === "applyBuckets");
  const send = fx.findIndex((e) => e.kind === "send");
  assert(apply >= 0 && send > apply, `effects in order: ${fx.map((e) => e.kind)}`);
  const plan = (fx[apply] as { plan: { accepting: boolean; joining?: boolean } }).plan;
  assertEquals([plan.accepting, plan.joining], [false, true]);
  assertEquals(h.tick(50).effects.some((e) => e.kind === "applyBuckets"), false, "once");
});
