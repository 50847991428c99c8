import assert from "node:assert/strict";
import { ownedBy } from "../../../agent/cluster/bucket_map.ts";
import { DEFAULT_RULE } from "../../../agent/cluster/config.ts";
import {
  adoptSnapshot,
  bucketPlan,
  eligibleMembers,
  recompute,
  refreshAgreement,
  transition,
  wantsFetch,
} from "../../../agent/cluster/converge.ts";
import type { Effect } from "../../../agent/cluster/effects.ts";
import { FLAG_AWAITING_MAP } from "../../../agent/cluster/heartbeat_codec.ts";
import type { ActualState, NodeState, Peer } from "../../../agent/cluster/node_state.ts";
import { computeView, toSnapshot, type View } from "../../../agent/cluster/view.ts";
import {
  agreeing,
  convergedNode,
  heartbeat,
  hostId,
  labels,
  logs,
  makeConfig,
  NodeHarness,
  only,
  sentHeartbeats,
} from "../../_fakes/cluster_fixtures.ts";

const A = hostId(1), B = hostId(2), C = hostId(3);

/** A copy of `s` with peer `id` changed by `patch` (the core's functions mutate their state). */
function withPeer(s: NodeState, id: number, patch: Partial<Peer>): NodeState {
  const peers = new Map([...s.peers].map(([k, p]) => [k, { ...p }]));
  peers.set(id, { ...peers.get(id)!, ...patch });
  return { ...structuredClone(s), peers };
}

function copy(s: NodeState): NodeState {
  return structuredClone(s);
}

/** Another balanced view of the same members and epoch (a different history). */
function otherHistory(v: View, s: NodeState): View {
  const base = { maps: { default: new Uint32Array(1024).fill(C) } };
  const w = computeView(base, s.config, v.members, v.epoch);
  assert.notDeepEqual(w.viewDigest, v.viewDigest, "test setup: the views should differ");
  return w;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

// --- eligibleMembers ---------------------------------------------------------------------

Deno.test("eligibleMembers() counts itself when active and every live, admitted, working peer", () => {
  const s = convergedNode().state;
  assert.deepEqual(eligibleMembers(s), [A, B, C]);
});

Deno.test("eligibleMembers() leaves itself out unless active and staying", () => {
  const s = convergedNode().state;
  for (const admin of ["draining", "stopped", "suspended"] as const) {
    assert.deepEqual(eligibleMembers({ ...s, admin }), [B, C], admin);
  }
  assert.deepEqual(eligibleMembers({ ...s, leaving: true }), [B, C]);
  const without = { ...s.config, hosts: s.config.hosts.filter((h) => h.id !== A) };
  assert.deepEqual(eligibleMembers({ ...s, config: without }), [B, C]);
});

Deno.test("eligibleMembers() leaves out peers that are down, refused, unheard or not working", () => {
  const s = convergedNode().state;
  const last = s.peers.get(B)!.last!;
  assert.deepEqual(eligibleMembers(withPeer(s, B, { alive: false })), [A, C]);
  assert.deepEqual(eligibleMembers(withPeer(s, B, { refused: "config mismatch" })), [A, C]);
  assert.deepEqual(eligibleMembers(withPeer(s, B, { last: undefined })), [A, C]);
  for (const state of ["draining", "stopped", "suspended"] as const) {
    assert.deepEqual(eligibleMembers(withPeer(s, B, { last: { ...last, state } })), [A, C], state);
  }
  assert.deepEqual(eligibleMembers(withPeer(s, B, { last: { ...last, state: "converging" } })), [
    A,
    B,
    C,
  ]);
});

// --- recompute ---------------------------------------------------------------------------

Deno.test("recompute() does nothing when the view would not change", () => {
  const s = copy(convergedNode().state);
  const fx: Effect[] = [];
  recompute(s, "nothing happened", 260, fx);
  assert.deepEqual(fx, []);
  assert.equal(s.view.epoch, 1);
});

Deno.test("recompute() computes no view while awaiting a map", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  h.hear(B, {}, 10);
  const s = copy(h.state);
  const fx: Effect[] = [];
  recompute(s, "test", 20, fx);
  assert.equal(s.view.epoch, 0);
  assert.deepEqual(logs(fx, "view.changed"), []);
});

Deno.test("recompute() bumps the epoch, logs the move and tells peers at once", () => {
  const s = withPeer(convergedNode().state, C, { alive: false });
  const fx: Effect[] = [];
  recompute(s, "host h3 left", 260, fx);
  assert.deepEqual(labels(fx), [
    "log:view.changed",
    "log:host.state",
    "changed",
    "applyBuckets",
    "send",
  ]);
  assert.equal(logs(fx)[0].message, "view epoch 2: host h3 left");
  assert.equal(sentHeartbeats(fx)[0].epoch, 2);
});

Deno.test("recompute() sends one heartbeat when the view changes but the state does not", () => {
  // Peers never reported our view: we are converging before and after.
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  for (let t = 0; t <= 200; t += 50) h.hear(B, {}, t), h.hear(C, {}, t);
  h.tick(250);
  assert.equal(h.state.actual, "converging");
  const s = withPeer(h.state, C, { alive: false });
  const fx: Effect[] = [];
  recompute(s, "test", 260, fx);
  assert.equal(logs(fx, "host.state").length, 0);
  assert.equal(only(fx, "send").length, 1);
  assert.equal(s.view.epoch, 2);
});

// --- refreshAgreement --------------------------------------------------------------------

Deno.test("refreshAgreement() converges when every live peer reports our view digest", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  for (let t = 0; t <= 200; t += 50) h.hear(B, {}, t), h.hear(C, {}, t);
  h.tick(250);
  h.hear(B, agreeing(h.state.view), 250);
  assert.equal(h.state.converged, false, "C has not reported yet");
  const r = h.hear(C, agreeing(h.state.view), 260);
  assert.equal(h.state.converged, true);
  // The first convergence is timed from the start.
  assert.deepEqual(h.state.lastConvergence, { at: 260, durationMs: 260, epoch: 1 });
  assert.deepEqual(logs(r.effects, "cluster.converged")[0].details, {
    epoch: 1,
    durationMs: 260,
    members: ["h1", "h2", "h3"],
  });
});

Deno.test("refreshAgreement() does not agree with a peer still awaiting a map", () => {
  const s = convergedNode().state;
  const last = s.peers.get(B)!.last!;
  const t = withPeer(s, B, { last: { ...last, flags: FLAG_AWAITING_MAP } });
  const fx: Effect[] = [];
  assert.equal(refreshAgreement(t, 260, fx), true);
  assert.equal(t.converged, false);
  assert.equal(t.actual, "converging");
  assert.equal(t.convergingSince, 260);
  assert.equal(sentHeartbeats(fx).length, 1, "a state change is told at once");
});

Deno.test("refreshAgreement() ignores peers that are down or refused", () => {
  const s = convergedNode().state;
  const last = s.peers.get(B)!.last!;
  const stale = { ...last, viewDigest: new Uint8Array(8) };
  for (const patch of [{ alive: false }, { refused: "duplicate priority" }]) {
    const t = withPeer(s, B, { ...patch, last: stale });
    const fx: Effect[] = [];
    assert.equal(refreshAgreement(t, 260, fx), false);
    assert.equal(t.converged, true);
    assert.deepEqual(fx, []);
  }
});

// --- transition --------------------------------------------------------------------------

const STATES: ActualState[] = ["converging", "converged", "draining", "stopped", "suspended"];

Deno.test("transition() logs A -> B with a changed effect", () => {
  const s = copy(convergedNode().state);
  const fx: Effect[] = [];
  assert.equal(transition(s, "stopped", fx), true);
  assert.equal(s.actual, "stopped");
  assert.deepEqual(fx, [
    {
      kind: "log",
      level: "info",
      type: "host.state",
      message: "converged -> stopped",
      details: { from: "converged", to: "stopped", epoch: 1 },
    },
    { kind: "changed" },
  ]);
});

Deno.test("transition() to the same state does nothing", () => {
  const s = copy(convergedNode().state);
  const fx: Effect[] = [];
  assert.equal(transition(s, "converged", fx), false);
  assert.deepEqual(fx, []);
});

Deno.test("transition() refuses only moves into draining from stopped or suspended", () => {
  const s = convergedNode().state;
  for (const from of STATES) {
    for (const to of STATES) {
      if (from === to) continue;
      const t = { ...copy(s), actual: from };
      const bad = to === "draining" && (from === "stopped" || from === "suspended");
      if (bad) {
        assert.throws(() => transition(t, to, []), {
          message: `invalid transition ${from} -> ${to}`,
        });
        assert.equal(t.actual, from);
      } else {
        assert.equal(transition(t, to, []), true, `${from} -> ${to}`);
      }
    }
  }
});

// --- bucketPlan --------------------------------------------------------------------------

Deno.test("bucketPlan() owns the view's buckets when converged", () => {
  const s = convergedNode().state;
  assert.deepEqual(bucketPlan(s), {
    epoch: 1,
    configVersion: 1,
    owned: { default: ownedBy(s.view.maps.default, A) },
    single: {},
    defaultHost: true,
    accepting: true,
  });
});

Deno.test("bucketPlan() takes no new bucket while converging, and releases at once", () => {
  const s = convergedNode().state;
  const before = s.view;
  const after = computeView(before, s.config, [A, B], 2); // C left: A gains buckets
  const gained = { ...s, view: after, converged: false, agreedView: before };
  assert.deepEqual(bucketPlan(gained).owned.default, ownedBy(before.maps.default, A));
  assert.ok(ownedBy(after.maps.default, A).length > ownedBy(before.maps.default, A).length);
  assert.deepEqual(
    bucketPlan({ ...gained, converged: true }).owned.default,
    ownedBy(after.maps.default, A),
  );
  // The other way: C joins while A still holds the two-host share. A lets go at once.
  const lost = { ...s, view: before, converged: false, agreedView: after };
  assert.deepEqual(bucketPlan(lost).owned.default, ownedBy(before.maps.default, A));
});

Deno.test("bucketPlan() owns nothing before the first agreement", () => {
  const s = convergedNode().state;
  assert.deepEqual(bucketPlan({ ...s, converged: false, agreedView: undefined }).owned, {
    default: [],
  });
});

Deno.test("bucketPlan() accepts nothing when stopped, leaving or awaiting a map", () => {
  const s = convergedNode().state;
  const none = {
    epoch: 1,
    configVersion: 1,
    owned: { default: [] },
    single: {},
    defaultHost: false,
    accepting: false,
  };
  for (const t of [{ ...s, admin: "stopped" as const }, { ...s, leaving: true }]) {
    assert.deepEqual(bucketPlan(t), none);
  }
  // Awaiting the map, it takes only what peers forward to it.
  assert.deepEqual(bucketPlan({ ...s, awaitingMap: true }), { ...none, joining: true });
});

Deno.test("bucketPlan() gives single rules and the default host to the top priority only once agreed", () => {
  const config = makeConfig(3, {
    rules: [{ ...DEFAULT_RULE }, {
      ...DEFAULT_RULE,
      id: "ssh",
      portLo: 22,
      portHi: 22,
      mode: "single",
    }],
  });
  const s = { ...convergedNode().state, config, selfId: B };
  const withA = computeView(s.view, config, [A, B, C], 1);
  const withoutA = computeView(withA, config, [B, C], 2);
  // B becomes top when A leaves, but not before the cluster agrees.
  const early = bucketPlan({ ...s, view: withoutA, converged: false, agreedView: withA });
  assert.deepEqual([early.single, early.defaultHost], [{ ssh: false }, false]);
  const agreed = bucketPlan({ ...s, view: withoutA, converged: true, agreedView: withoutA });
  assert.deepEqual([agreed.single, agreed.defaultHost], [{ ssh: true }, true]);
  const notTop = bucketPlan({ ...s, view: withA, converged: true, agreedView: withA });
  assert.deepEqual([notTop.single, notTop.defaultHost], [{ ssh: false }, false]);
});

// --- wantsFetch --------------------------------------------------------------------------

/** A converged node whose peer B now reports `view` (same members, another history). */
function peerReports(view: View): { s: NodeState; peer: Peer } {
  const s = copy(convergedNode().state);
  const peer = s.peers.get(B)!;
  peer.last = heartbeat(s.config, B, { ...agreeing(view), seq: 99 });
  return { s, peer };
}

Deno.test("wantsFetch() fetches from a peer with the same members whose view wins the tie-break", () => {
  const mine = convergedNode().state.view;
  const other = otherHistory(mine, convergedNode().state);
  const theyWin = compareBytes(other.viewDigest, mine.viewDigest) > 0;
  const { s, peer } = peerReports(other);
  const fx = wantsFetch(s, peer, 260);
  if (theyWin) {
    assert.deepEqual(fx, { kind: "fetchMap", hostId: B, address: "10.0.0.2" });
    assert.deepEqual(s.pendingFetch, { hostId: B, what: "map", at: 260 });
  } else {
    assert.equal(fx, undefined);
  }
  // And exactly one side of the tie fetches: a host holding `other` facing `mine` does the opposite.
  const swapped = copy(s);
  swapped.pendingFetch = undefined;
  swapped.view = other;
  swapped.peers.get(B)!.last = heartbeat(s.config, B, { ...agreeing(mine), seq: 100 });
  assert.equal(wantsFetch(swapped, swapped.peers.get(B)!, 260) !== undefined, !theyWin);
});

Deno.test("wantsFetch() fetches from a peer at a higher epoch with the same members", () => {
  const base = convergedNode().state;
  const { s, peer } = peerReports({ ...otherHistory(base.view, base), epoch: 7 });
  assert.deepEqual(wantsFetch(s, peer, 260), { kind: "fetchMap", hostId: B, address: "10.0.0.2" });
});

Deno.test("wantsFetch() fetches nothing from a peer it should not", () => {
  const base = convergedNode().state;
  const higher = { ...otherHistory(base.view, base), epoch: 7 };
  const cases: [string, (s: NodeState, p: Peer) => void][] = [
    ["a fetch is pending", (s) => s.pendingFetch = { hostId: C, what: "map", at: 250 }],
    ["the peer is down", (_, p) => p.alive = false],
    ["the peer is refused", (_, p) => p.refused = "config mismatch"],
    ["the peer has no view", (_, p) => p.last = { ...p.last!, epoch: 0 }],
    ["the peer awaits a map", (_, p) => p.last = { ...p.last!, flags: FLAG_AWAITING_MAP }],
    ["we agree", (s, p) => p.last = { ...p.last!, viewDigest: s.view.viewDigest }],
    ["other members", (_, p) => p.last = { ...p.last!, membersDigest: new Uint8Array(8).fill(1) }],
    ["our epoch is higher", (s) => s.view = { ...s.view, epoch: 9 }],
  ];
  for (const [why, edit] of cases) {
    const { s, peer } = peerReports(higher);
    edit(s, peer);
    assert.equal(wantsFetch(s, peer, 260), undefined, why);
  }
});

// --- adoptSnapshot -----------------------------------------------------------------------

Deno.test("adoptSnapshot() ignores a view made under another config version or an older epoch", () => {
  const s = copy(convergedNode().state);
  const fx: Effect[] = [];
  adoptSnapshot(s, B, toSnapshot(s.view, 2), 260, fx);
  adoptSnapshot(s, B, { ...toSnapshot(s.view, 1), epoch: 0 }, 260, fx);
  assert.deepEqual(fx, []);
});

Deno.test("adoptSnapshot() rejects a malformed view and says why", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  const s = copy(h.state);
  const fx: Effect[] = [];
  const snap = { epoch: 3, configVersion: 1, members: [A, B], maps: { default: [1, 2, 3] } };
  adoptSnapshot(s, B, snap, 10, fx);
  assert.deepEqual(labels(fx), ["log:view.rejected"]);
  assert.equal(
    logs(fx)[0].message,
    "view from host h2 rejected: map default does not have 1024 buckets",
  );
  assert.equal(s.awaitingMap, true);
});

Deno.test("adoptSnapshot() reconciles the view with its own members and bumps the epoch", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  h.hear(B, {}, 10); // it sees A and B only
  const theirs = computeView({ maps: {} }, h.config, [A, B, C], 4);
  const s = copy(h.state);
  const fx: Effect[] = [];
  adoptSnapshot(s, B, toSnapshot(theirs, 1), 20, fx);
  assert.equal(s.awaitingMap, false);
  assert.deepEqual(s.view.members, [A, B]);
  assert.equal(s.view.epoch, 5);
  assert.deepEqual(logs(fx, "view.adopted")[0].details, {
    epoch: 5,
    bucketsMoved: 0, // from the empty view nothing moves
  });
  // Only C's buckets moved: the rest are where the fetched view put them.
  const kept = ownedBy(theirs.maps.default, A);
  for (const b of kept) assert.equal(s.view.maps.default[b], A);
});
