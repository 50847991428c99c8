import assert from "node:assert/strict";
import { type ClusterConfig, configDigest, DEFAULT_RULE } from "../../../agent/cluster/config.ts";
import type { Effect, Input } from "../../../agent/cluster/effects.ts";
import { ownedBy } from "../../../agent/cluster/bucket_map.ts";
import {
  encodeHeartbeat,
  FLAG_AWAITING_MAP,
  FLAG_LEAVING,
} from "../../../agent/cluster/heartbeat_codec.ts";
import { step } from "../../../agent/cluster/membership.ts";
import type { DropReason, NodeState } from "../../../agent/cluster/node_state.ts";
import { computeView, emptyView, toSnapshot, type View } from "../../../agent/cluster/view.ts";
import {
  agreeing,
  bitOf,
  convergedNode,
  heartbeat,
  hostId,
  KEY,
  labels,
  logs,
  makeConfig,
  NodeHarness,
  only,
  OTHER_KEY,
  rng,
  sentHeartbeats,
} from "../../_fakes/cluster_fixtures.ts";

const A = hostId(1), B = hostId(2), C = hostId(3);

/** Steps `input` at `at` and checks it was dropped for `reason` and changed nothing else. */
function assertDropped(h: NodeHarness, input: Input, reason: DropReason, at = h.now) {
  assert.ok(at < h.state.nextBeatAt, "test setup: pick a time with no heartbeat due");
  const before = h.state;
  const r = h.step(input, at);
  assert.deepEqual(labels(r.effects), ["armTimer"], `${reason}: effects`);
  assert.deepEqual(r.state.drops, { ...before.drops, [reason]: before.drops[reason] + 1 });
  assert.equal(r.state.view, before.view, `${reason}: the view changed`);
  assert.deepEqual(r.state.peers, before.peers, `${reason}: a peer changed`);
  assert.equal(r.state.actual, before.actual);
}

/** A view of `members` at `epoch`, as a peer with the same config would compute it. */
function viewOf(config: ClusterConfig, members: number[], epoch: number): View {
  return computeView(emptyView(), config, members, epoch);
}

// --- drops -------------------------------------------------------------------------------

Deno.test("step() drops a stale incarnation, counted, with no view change", () => {
  const h = convergedNode();
  assertDropped(h, h.packet(B, { incarnation: 0, seq: 999 }), "stale", 260);
});

Deno.test("step() drops a replayed sequence, counted, with no view change", () => {
  const h = convergedNode();
  const p = h.packet(B, agreeing(h.state.view));
  h.step(p, 255);
  assertDropped(h, p, "replayed", 260);
  assertDropped(h, h.packet(B, { ...agreeing(h.state.view), seq: 2 }), "replayed", 261);
});

Deno.test("step() drops a heartbeat from a host id not in the config", () => {
  const h = convergedNode();
  const bytes = encodeHeartbeat(heartbeat(h.config, 999), KEY);
  assertDropped(h, { kind: "packet", bytes, from: "10.0.0.99" }, "unknown-host", 260);
});

Deno.test("step() drops its own heartbeat", () => {
  const h = convergedNode();
  const mine = only(h.tick(300).effects, "send")[0];
  assertDropped(h, { kind: "packet", bytes: mine.bytes, from: "10.0.0.1" }, "self", 310);
});

Deno.test("step() counts garbage, another wire version and another cluster separately", () => {
  const h = convergedNode();
  assertDropped(
    h,
    { kind: "packet", bytes: new Uint8Array(40), from: "10.9.9.9" },
    "malformed",
    260,
  );
  const other = encodeHeartbeat(heartbeat(h.config, B), KEY);
  other[2] = 3;
  assertDropped(h, { kind: "packet", bytes: other, from: "10.0.0.2" }, "version", 261);
  const foreign = encodeHeartbeat(
    heartbeat(h.config, B, { clusterId: new Uint8Array(8).fill(9) }),
    OTHER_KEY,
  );
  assertDropped(h, { kind: "packet", bytes: foreign, from: "10.0.0.2" }, "foreign-cluster", 262);
});

Deno.test("step() never throws on random garbage and counts it all as malformed", () => {
  const h = convergedNode();
  const r = rng(7);
  for (let i = 0; i < 200; i++) {
    const bytes = new Uint8Array(Math.floor(r() * 200)).map(() => Math.floor(r() * 256));
    h.step({ kind: "packet", bytes, from: "10.9.9.9" }, 260);
  }
  assert.equal(h.state.drops.malformed, 200);
});

// --- forgery -----------------------------------------------------------------------------

Deno.test("step() logs one config.mismatch naming the key for forged heartbeats, not one per packet", () => {
  const h = convergedNode();
  const fx: Effect[] = [];
  for (let t = 260; t < 300; t += 10) fx.push(...h.step(h.packet(B, {}, OTHER_KEY), t).effects);
  assert.equal(h.state.drops.forged, 4);
  const events = logs(fx, "config.mismatch");
  assert.equal(events.length, 1);
  assert.equal(events[0].level, "warn");
  assert.deepEqual(events[0].details, { field: "key" });
  assert.match(events[0].message, /host h2 \(10\.0\.0\.2\).*cluster key differs/);
});

Deno.test("step() logs a forged heartbeat again after a minute", () => {
  const h = convergedNode();
  assert.equal(logs(h.step(h.packet(B, {}, OTHER_KEY), 260).effects, "config.mismatch").length, 1);
  assert.equal(
    logs(h.step(h.packet(B, {}, OTHER_KEY), 60_259).effects, "config.mismatch").length,
    0,
  );
  assert.equal(
    logs(h.step(h.packet(B, {}, OTHER_KEY), 60_260).effects, "config.mismatch").length,
    1,
  );
});

Deno.test("step() names the member whose address sends forgeries, whatever id they claim", () => {
  const h = convergedNode();
  const bytes = encodeHeartbeat(heartbeat(h.config, 999), OTHER_KEY);
  const r = h.step({ kind: "packet", bytes, from: "10.0.0.3" }, 260);
  assert.match(logs(r.effects, "config.mismatch")[0].message, /^host h3 \(10\.0\.0\.3\)/);
});

Deno.test("step() only counts forgeries from strangers", () => {
  const h = convergedNode();
  const bytes = encodeHeartbeat(heartbeat(h.config, 999), OTHER_KEY);
  const r = h.step({ kind: "packet", bytes, from: "192.0.2.1" }, 260);
  assert.deepEqual(labels(r.effects), ["armTimer"]);
  assert.equal(h.state.drops.forged, 1);
});

// --- a newcomer --------------------------------------------------------------------------

Deno.test("step() keeps a newcomer awaiting a map and advertising FLAG_AWAITING_MAP", () => {
  const h = new NodeHarness(makeConfig(3));
  const [hb] = sentHeartbeats(h.tick(0).effects);
  assert.equal(hb.flags & FLAG_AWAITING_MAP, FLAG_AWAITING_MAP);
  assert.equal(hb.state, "converging");
  assert.equal(hb.epoch, 0);
  assert.deepEqual(hb.to, ["10.0.0.2", "10.0.0.3"]);
  h.hear(B, {}, 10);
  const [later] = sentHeartbeats(h.tick(200).effects);
  assert.equal(later.flags & FLAG_AWAITING_MAP, FLAG_AWAITING_MAP);
  assert.equal(h.state.awaitingMap, true);
  assert.deepEqual(h.state.lastPlan?.owned, { default: [] });
  assert.equal(h.state.lastPlan?.accepting, false);
});

Deno.test("step() cold-starts a newcomer after deadMisses periods with no established peer", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  for (const t of [0, 100, 200]) h.hear(B, {}, t);
  assert.equal(logs(h.tick(249).effects, "view.cold_start").length, 0);
  assert.equal(h.state.awaitingMap, true);
  const r = h.tick(250);
  assert.deepEqual(labels(r.effects).slice(0, 2), ["log:view.cold_start", "log:view.changed"]);
  assert.equal(h.state.awaitingMap, false);
  assert.equal(h.state.view.epoch, 1);
  assert.deepEqual(h.state.view.members, [A, B]);
  for (const hb of sentHeartbeats(r.effects)) assert.equal(hb.flags & FLAG_AWAITING_MAP, 0);
});

Deno.test("step() has a lone host cold-start, converge and take every bucket", () => {
  const h = new NodeHarness(makeConfig(1));
  h.tick(0);
  h.advance(250);
  const r = h.tick(250);
  assert.deepEqual(labels(r.effects), [
    "log:view.cold_start",
    "log:view.changed",
    "log:cluster.converged",
    "log:host.state",
    "changed",
    "applyBuckets",
    "armTimer",
  ]);
  assert.equal(h.state.actual, "converged");
  assert.equal(only(r.effects, "applyBuckets")[0].plan.owned.default.length, 1024);
});

Deno.test("step() has a newcomer fetch the map from an established peer with the same members", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  const theirs = viewOf(h.config, [A, B], 4);
  const r = h.hear(B, agreeing(theirs), 10);
  assert.deepEqual(only(r.effects, "fetchMap"), [
    { kind: "fetchMap", hostId: B, address: "10.0.0.2" },
  ]);
  // No second fetch while one is pending, and no cold start either.
  assert.deepEqual(only(h.hear(B, agreeing(theirs), 100).effects, "fetchMap"), []);
  h.hear(B, agreeing(theirs), 200);
  assert.equal(logs(h.tick(250).effects, "view.cold_start").length, 0);
  assert.equal(h.state.awaitingMap, true);
});

Deno.test("step() has a newcomer adopt the fetched view and converge with its peer", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  const theirs = viewOf(h.config, [A, B], 4);
  h.hear(B, agreeing(theirs), 10);
  const r = h.step({ kind: "snapshot", hostId: B, snapshot: toSnapshot(theirs, 1) }, 20);
  assert.deepEqual(labels(r.effects), [
    "log:view.adopted",
    "send",
    "log:cluster.converged",
    "log:host.state",
    "changed",
    "applyBuckets",
    "send",
    "armTimer",
  ]);
  assert.equal(h.state.awaitingMap, false);
  assert.equal(h.state.pendingFetch, undefined);
  assert.deepEqual(h.state.view.viewDigest, theirs.viewDigest);
  assert.equal(h.state.view.epoch, 4);
  assert.deepEqual(h.state.lastPlan?.owned.default, ownedBy(theirs.maps.default, A));
});

Deno.test("step() does not fetch from a peer that disagrees on the members, and cold-starts late", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  const theirs = viewOf(h.config, [B], 4); // B does not count us yet
  let fetches = 0;
  for (let t = 0; t < 1000; t += 100) {
    fetches += only(h.hear(B, agreeing(theirs), t).effects, "fetchMap").length;
    h.tick(t + 50);
  }
  assert.equal(fetches, 0);
  assert.equal(h.state.awaitingMap, true);
  assert.equal(logs(h.tick(999).effects, "view.cold_start").length, 0);
  assert.equal(logs(h.tick(1000).effects, "view.cold_start").length, 1);
});

// --- liveness ----------------------------------------------------------------------------

/** A converged node hearing B every 50 ms from t=300 (B still hearing C), C silent after 250. */
function silentC(): NodeHarness {
  const h = convergedNode();
  for (const t of [300, 350]) h.hear(B, agreeing(h.state.view), t);
  return h;
}

Deno.test("step() suspects a peer silent for suspectMisses periods and clears its heard bit", () => {
  const h = silentC();
  const early = h.tick(399);
  assert.equal(h.state.peers.get(C)!.suspect, false);
  assert.deepEqual(labels(early.effects), ["armTimer"]);
  const r = h.tick(400);
  assert.equal(h.state.peers.get(C)!.suspect, true);
  assert.equal(h.state.peers.get(C)!.alive, true);
  const [hb] = sentHeartbeats(r.effects);
  assert.equal(hb.heard, bitOf(h.config, B));
  assert.deepEqual(h.state.view.members, [A, B, C]);
});

Deno.test("step() declares a silent peer down once every other live peer stops hearing it", () => {
  const h = silentC();
  h.tick(400);
  h.hear(B, { ...agreeing(h.state.view), heard: bitOf(h.config, A) | bitOf(h.config, B) }, 450);
  assert.equal(logs(h.tick(499).effects, "peer.down").length, 0);
  const r = h.tick(500);
  assert.equal(logs(r.effects, "peer.down").length, 1);
  assert.equal(h.state.peers.get(C)!.alive, false);
  assert.equal(h.state.peers.get(C)!.downSince, 500);
  assert.deepEqual(h.state.view.members, [A, B]);
});

Deno.test("step() keeps a silent peer alive while another live peer still hears it", () => {
  const h = silentC();
  const fx: Effect[] = [];
  for (let t = 400; t <= 2000; t += 50) {
    fx.push(...h.hear(B, agreeing(h.state.view), t).effects, ...h.tick(t + 25).effects);
  }
  assert.deepEqual(logs(fx, "peer.down"), []);
  assert.equal(h.state.peers.get(C)!.alive, true);
  assert.equal(h.state.peers.get(C)!.suspect, true);
  assert.deepEqual(h.state.view.members, [A, B, C]);
  for (const hb of sentHeartbeats(fx)) assert.equal(hb.heard, bitOf(h.config, B));
});

Deno.test("step() completes an awaited death on the heartbeat that confirms it", () => {
  const h = silentC();
  for (let t = 400; t <= 600; t += 50) h.hear(B, agreeing(h.state.view), t);
  const r = h.hear(B, { ...agreeing(h.state.view), heard: bitOf(h.config, B) }, 610);
  assert.equal(logs(r.effects, "peer.down").length, 1);
  assert.match(logs(r.effects, "peer.down")[0].message, /host h3 is down: missed 7 heartbeats/);
});

Deno.test("step() lets the local timeout decide when no other live peer can confirm", () => {
  const h = convergedNode(2);
  assert.equal(logs(h.advance(500), "peer.down").length, 0);
  assert.equal(logs(h.tick(500).effects, "peer.down").length, 1);
  assert.deepEqual(h.state.view.members, [A]);
});

Deno.test("step() does not count a suspected peer as a confirmer", () => {
  const h = convergedNode();
  // Both B and C fall silent; B's last heartbeat still says it hears C.
  h.advance(500);
  assert.equal(h.state.peers.get(B)!.suspect, true);
  const r = h.tick(500);
  assert.equal(logs(r.effects, "peer.down").length, 2);
  assert.deepEqual(h.state.view.members, [A]);
});

Deno.test("step() does not count peers' silence during its own stall", () => {
  const h = convergedNode(); // steps every period until t=250
  const r = h.tick(600); // frozen for 350 ms: every peer looks silent
  assert.deepEqual(logs(r.effects).map((e) => [e.type, e.details]), [
    ["host.stalled", { gapMs: 350 }],
  ]);
  assert.equal(h.state.peers.get(B)!.suspect, false);
  // Heartbeats queued while we were frozen may take longer than a period to read.
  assert.deepEqual(logs(h.tick(700).effects), []);
  h.hear(B, agreeing(h.state.view), 710);
  h.hear(C, agreeing(h.state.view), 720);
  assert.deepEqual(logs(h.tick(760).effects), []);
  assert.deepEqual(h.state.view.members, [A, B, C]);
});

Deno.test("step() gives each peer its full windows after its own stall, then judges", () => {
  const h = convergedNode(2);
  h.tick(600);
  h.tick(749);
  assert.equal(h.state.peers.get(B)!.suspect, false);
  h.tick(750);
  assert.equal(h.state.peers.get(B)!.suspect, true, "suspected 3 periods after the stall");
  assert.equal(logs(h.tick(849).effects, "peer.down").length, 0);
  assert.equal(logs(h.tick(850).effects, "peer.down").length, 1, "dead 5 periods after it");
});

Deno.test("step() clears suspicion when the peer is heard again", () => {
  const h = silentC();
  h.tick(400);
  h.hear(C, agreeing(h.state.view), 420);
  assert.equal(h.state.peers.get(C)!.suspect, false);
  const [hb] = sentHeartbeats(h.tick(450).effects);
  assert.equal(hb.heard, bitOf(h.config, B) | bitOf(h.config, C));
});

Deno.test("step() never arms a timer in the past while a death awaits confirmation", () => {
  const h = silentC();
  for (let t = 400; t <= 800; t += 50) {
    h.hear(B, agreeing(h.state.view), t);
    const r = h.tick(t + 7);
    for (const e of only(r.effects, "armTimer")) {
      assert.ok(e.at > h.now, `armed ${e.at} at ${h.now}`);
    }
  }
});

Deno.test("step() never arms a timer in the past while a newcomer waits for its map", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  const theirs = viewOf(h.config, [A, B], 4);
  for (let t = 10; t <= 1500; t += 50) {
    h.hear(B, agreeing(theirs), t);
    for (const e of only(h.tick(t + 7).effects, "armTimer")) {
      assert.ok(e.at > h.now, `armed ${e.at} at ${h.now}`);
    }
  }
  assert.equal(h.state.awaitingMap, true, "the fetch is still pending");
});

Deno.test("step() sends one heartbeat per period and re-bases the schedule after a long pause", () => {
  const h = convergedNode();
  assert.equal(h.state.nextBeatAt, 300);
  assert.deepEqual(labels(h.tick(299).effects), ["armTimer"]);
  const r = h.tick(300);
  assert.equal(only(r.effects, "send").length, 1);
  assert.deepEqual(only(r.effects, "armTimer"), [{ kind: "armTimer", at: 350 }]);
  h.tick(420); // more than a period late: the next one is a period from now, not a burst
  assert.equal(h.state.nextBeatAt, 470);
});

Deno.test("step() sends a heartbeat at once before a pause of the agent", () => {
  const h = convergedNode();
  const r = h.step({ kind: "pause" }, 280); // the next one is due at 300
  assert.equal(only(r.effects, "send").length, 1);
  assert.equal(h.state.nextBeatAt, 300, "the periodic one still goes out when due");
  assert.deepEqual(logs(r.effects), []);
});

Deno.test("step() logs a restart when a live peer comes back with a higher incarnation", () => {
  const h = convergedNode();
  const r = h.hear(B, { ...agreeing(h.state.view), incarnation: 2, seq: 1 }, 260);
  assert.deepEqual(logs(r.effects, "peer.restarted")[0].details, { incarnation: 2 });
  assert.equal(h.state.peers.get(B)!.seq, 1);
});

// --- bow-out -----------------------------------------------------------------------------

Deno.test("step() removes a bowing-out peer at once, with a view change and a heartbeat", () => {
  const h = convergedNode();
  const r = h.hear(B, { ...agreeing(h.state.view), flags: FLAG_LEAVING }, 260);
  assert.deepEqual(labels(r.effects), [
    "log:peer.down",
    "log:view.changed",
    "log:host.state",
    "changed",
    "applyBuckets",
    "send",
    "armTimer",
  ]);
  assert.match(logs(r.effects, "peer.down")[0].message, /host h2 is down: left the cluster/);
  assert.equal(h.state.peers.get(B)!.alive, false);
  assert.deepEqual(h.state.view.members, [A, C]);
  const [hb] = sentHeartbeats(r.effects);
  assert.equal(hb.epoch, 2);
  assert.equal(hb.heard, bitOf(h.config, C));
});

Deno.test("step() ignores a bow-out from a peer that is not a member", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  const r = h.hear(B, { flags: FLAG_LEAVING }, 10);
  assert.deepEqual(logs(r.effects), []);
  assert.equal(h.state.peers.get(B)!.alive, false);
});

// --- config agreement --------------------------------------------------------------------

const SLOWER = makeConfig(3, {
  heartbeat: { periodMs: 100, suspectMisses: 3, deadMisses: 5, port: 7946 },
});

const NEWER: ClusterConfig = {
  ...makeConfig(3),
  version: 2,
  rules: [{ ...DEFAULT_RULE }, { ...DEFAULT_RULE, id: "web", portLo: 80, portHi: 80 }],
};

Deno.test("step() adopts a newer config and recomputes the view", () => {
  const h = convergedNode();
  const r = h.step({ kind: "config", config: NEWER, source: "host #102" }, 260);
  assert.deepEqual(labels(r.effects).slice(0, 2), ["log:config.adopted", "log:view.changed"]);
  assert.equal(
    logs(r.effects, "config.adopted")[0].message,
    "config version 1 -> 2 (from host #102)",
  );
  assert.equal(h.state.config.version, 2);
  assert.deepEqual(h.state.configDigest, configDigest(NEWER));
  assert.deepEqual(Object.keys(h.state.view.maps).sort(), ["default", "web"]);
  assert.equal(h.state.view.epoch, 2);
});

Deno.test("step() ignores a config that is not newer or is for another cluster", () => {
  const h = convergedNode();
  for (const config of [makeConfig(3), { ...NEWER, clusterId: "ffffffffffffffff" }]) {
    const r = h.step({ kind: "config", config, source: "test" }, 260);
    assert.deepEqual(labels(r.effects), ["armTimer"]);
  }
  assert.equal(h.state.config.version, 1);
});

Deno.test("step() adds and removes peers with the config", () => {
  const h = convergedNode();
  const four = { ...makeConfig(4), version: 2 };
  four.hosts = four.hosts.filter((x) => x.id !== C);
  h.step({ kind: "config", config: four, source: "test" }, 260);
  assert.deepEqual([...h.state.peers.keys()], [B, hostId(4)]);
  assert.equal(h.state.peers.get(B)!.alive, true, "what it knew of B is kept");
  assert.deepEqual(h.state.view.members, [A, B]);
});

// Regression (fixed): after `fetchConfig(reason: "newer")` the driver feeds the config back as
// `{ kind: "config" }` (driver.ts, as effects.ts documents), but only `peerConfig`,
// `snapshot` and `fetchFailed` clear `pendingFetch`. The stale pending fetch then blocks
// the newcomer's map fetch (and its cold start) until it expires 2 s later.
Deno.test({
  name: "step() fetches the map at once after adopting the newer config it fetched",
  fn() {
    const h = new NodeHarness(makeConfig(3));
    h.tick(0);
    const theirs = viewOf(NEWER, [A, B], 3);
    const newer = { ...agreeing(theirs), configVersion: 2, configDigest: configDigest(NEWER) };
    h.hear(B, newer, 10);
    h.step({ kind: "config", config: NEWER, source: "host #102" }, 20);
    const r = h.hear(B, newer, 60);
    assert.deepEqual(only(r.effects, "fetchMap"), [
      { kind: "fetchMap", hostId: B, address: "10.0.0.2" },
    ]);
  },
});

// --- duplicate priority ------------------------------------------------------------------

Deno.test("step() refuses the higher host id of a duplicate priority, with the reason", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  const r = h.hear(B, { priority: 1 }, 10);
  assert.equal(
    logs(r.effects, "peer.refused")[0].message,
    "host h2 not admitted: duplicate priority 1 (also held by host h1)",
  );
  assert.equal(h.state.peers.get(B)!.alive, false);
  assert.equal(h.state.peers.get(B)!.refused, "duplicate priority 1 (also held by host h1)");
});

Deno.test("step() refuses a duplicate priority between two peers, and admits the lower id", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  h.hear(B, {}, 10);
  const r = h.hear(C, { priority: 2 }, 20);
  assert.match(
    logs(r.effects, "peer.refused")[0].message,
    /h3 .*priority 2 \(also held by host h2\)/,
  );
  const lower = new NodeHarness(makeConfig(3), C);
  lower.tick(0);
  assert.deepEqual(logs(lower.hear(B, { priority: 3 }, 10).effects, "peer.refused"), []);
  assert.equal(lower.state.peers.get(B)!.alive, true);
});

Deno.test("step() admits a refused peer once its duplicate priority is gone, and says so", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  h.hear(B, { priority: 1 }, 10);
  const r = h.hear(B, {}, 20);
  assert.equal(
    logs(r.effects, "peer.admitted")[0].message,
    "host h2 admitted: duplicate priority 1 (also held by host h1) resolved",
  );
  assert.equal(h.state.peers.get(B)!.alive, true);
  assert.equal(h.state.peers.get(B)!.refused, undefined);
});

// --- takeover, exactly -------------------------------------------------------------------

Deno.test("step() takes over a dead host's buckets in this exact order of effects", () => {
  const h = silentC();
  const before = h.state.view;
  for (const t of [400, 450, 500]) h.hear(B, agreeing(before), t);
  // B confirms 10 ms after C's dead time (t=500): C's bit is clear in its heartbeat.
  const down = h.hear(
    B,
    { ...agreeing(before), heard: bitOf(h.config, A) | bitOf(h.config, B) },
    510,
  );
  assert.deepEqual(labels(down.effects), [
    "log:peer.down",
    "log:view.changed",
    "log:host.state",
    "changed",
    "applyBuckets",
    "send",
    "armTimer",
  ]);
  const [peerDown, viewChanged, state] = logs(down.effects);
  assert.equal(peerDown.message, "host h3 is down: missed 5 heartbeats");
  assert.deepEqual(peerDown.details, { silentMs: 260 });
  const cShare = ownedBy(before.maps.default, C).length;
  assert.deepEqual(viewChanged.details, { epoch: 2, members: ["h1", "h2"], bucketsMoved: cShare });
  assert.equal(state.message, "converged -> converging");
  // Until B agrees, A keeps only what it had: C's buckets are owned by no one.
  const mine = ownedBy(before.maps.default, A);
  assert.deepEqual(only(down.effects, "applyBuckets")[0].plan, {
    epoch: 2,
    configVersion: 1,
    owned: { default: mine },
    single: {},
    defaultHost: true,
    accepting: true,
  });
  const [hb] = sentHeartbeats(down.effects);
  assert.deepEqual(hb.to, ["10.0.0.2", "10.0.0.3"]);
  assert.equal(hb.epoch, 2);
  assert.equal(hb.state, "converging");
  assert.deepEqual(hb.viewDigest, h.state.view.viewDigest);

  const agreed = h.hear(B, agreeing(h.state.view), 520);
  assert.deepEqual(labels(agreed.effects), [
    "log:cluster.converged",
    "log:host.state",
    "changed",
    "applyBuckets",
    "send",
    "armTimer",
  ]);
  assert.equal(logs(agreed.effects)[1].message, "converging -> converged");
  const plan = only(agreed.effects, "applyBuckets")[0].plan;
  assert.deepEqual(plan.owned.default, ownedBy(h.state.view.maps.default, A));
  assert.equal(plan.owned.default.length, 512);
  assert.equal(h.state.lastConvergence?.durationMs, 10);
});

// --- purity ------------------------------------------------------------------------------

Deno.test("step() does not mutate the state it is given", () => {
  const h = convergedNode();
  const inputs: [number, Input][] = [
    [260, h.packet(B, agreeing(h.state.view))],
    [270, h.packet(B, {}, OTHER_KEY)],
    [280, { kind: "packet", bytes: new Uint8Array(3), from: "10.9.9.9" }],
    [300, { kind: "tick" }],
    [310, { kind: "command", command: "drainstop" }],
    [320, { kind: "drained" }],
    [330, { kind: "command", command: "start" }],
    [340, h.packet(C, { configDigest: configDigest(SLOWER) })],
    [350, { kind: "peerConfig", hostId: C, config: SLOWER }],
    [360, { kind: "config", config: NEWER, source: "test" }],
    [370, { kind: "snapshot", hostId: B, snapshot: toSnapshot(h.state.view, 2) }],
    [380, { kind: "fetchFailed", hostId: B, what: "map", error: "timeout" }],
    [390, h.packet(B, { flags: FLAG_LEAVING })],
    [900, { kind: "tick" }],
    [910, { kind: "command", command: "suspend" }],
    [920, { kind: "command", command: "leave" }],
  ];
  let s: NodeState = h.state;
  for (const [at, input] of inputs) {
    const copy = structuredClone(s);
    const r = step(s, input, at);
    assert.deepStrictEqual(s, copy, `${input.kind} at ${at} changed its input state`);
    assert.notEqual(r.state, s);
    s = r.state;
  }
});

Deno.test("step() tells observers when a peer's content generations change, and not otherwise", () => {
  const h = convergedNode();
  const gens = { offered: 0, committed: 0, staged: 0, served: 0 };
  const same = h.hear(B, { ...agreeing(h.state.view), content: gens }, 260);
  assert.equal(labels(same.effects).includes("changed"), false);
  const staged = h.hear(B, { ...agreeing(h.state.view), content: { ...gens, staged: 3 } }, 270);
  assert.equal(labels(staged.effects).includes("changed"), true);
  assert.equal(h.state.peers.get(B)!.last!.content.staged, 3);
});
