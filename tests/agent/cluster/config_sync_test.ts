import assert from "node:assert/strict";
import { type ClusterConfig, configDigest } from "../../../agent/cluster/config.ts";
import { checkPeerConfig, describeMismatch } from "../../../agent/cluster/config_sync.ts";
import type { Effect } from "../../../agent/cluster/effects.ts";
import type { NodeState } from "../../../agent/cluster/node_state.ts";
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
} from "../../_fakes/cluster_fixtures.ts";

const A = hostId(1), B = hostId(2), C = hostId(3);

function node(): NodeState {
  return structuredClone(convergedNode().state);
}

function edited(edit: (c: ClusterConfig) => void, version = 1): ClusterConfig {
  const c = structuredClone(makeConfig(3));
  edit(c);
  c.version = version;
  return c;
}

Deno.test("checkPeerConfig() admits a peer with the same version and digest", () => {
  const s = node();
  const fx: Effect[] = [];
  assert.equal(checkPeerConfig(s, s.peers.get(B)!, heartbeat(s.config, B), 260, fx), undefined);
  assert.deepEqual(fx, []);
});

Deno.test("checkPeerConfig() admits a peer with an older version: it will fetch ours", () => {
  const s = node();
  s.config = { ...s.config, version: 5 };
  const fx: Effect[] = [];
  const hb = heartbeat(s.config, B, { configVersion: 4, configDigest: new Uint8Array(8) });
  assert.equal(checkPeerConfig(s, s.peers.get(B)!, hb, 260, fx), undefined);
  assert.deepEqual(fx, []);
  assert.equal(s.pendingFetch, undefined);
});

Deno.test("checkPeerConfig() fetches a newer version once, while admitting the peer", () => {
  const s = node();
  const fx: Effect[] = [];
  const hb = heartbeat(s.config, B, { configVersion: 2, configDigest: new Uint8Array(8) });
  assert.equal(checkPeerConfig(s, s.peers.get(B)!, hb, 260, fx), undefined);
  assert.equal(checkPeerConfig(s, s.peers.get(C)!, { ...hb, hostId: C }, 270, fx), undefined);
  assert.deepEqual(fx, [{ kind: "fetchConfig", hostId: B, address: "10.0.0.2", reason: "newer" }]);
  assert.deepEqual(s.pendingFetch, { hostId: B, what: "config", at: 260 });
});

Deno.test("checkPeerConfig() refuses a same-version mismatch and fetches the peer's config once", () => {
  const s = node();
  const peer = s.peers.get(B)!;
  const other = edited((c) => c.peerPort = 8000);
  const hb = heartbeat(s.config, B, { configDigest: configDigest(other) });
  const fx: Effect[] = [];
  assert.equal(checkPeerConfig(s, peer, hb, 260, fx), "config mismatch at version 1");
  peer.refused = "config mismatch at version 1";
  s.pendingFetch = undefined;
  assert.equal(checkPeerConfig(s, peer, hb, 270, fx), "config mismatch at version 1");
  assert.deepEqual(fx, [
    { kind: "fetchConfig", hostId: B, address: "10.0.0.2", reason: "mismatch" },
  ]);
});

Deno.test("describeMismatch() names every differing field and how to fix it", () => {
  const s = node();
  s.pendingFetch = { hostId: B, what: "config", at: 250 };
  const other = edited((c) => {
    c.buckets = 2048;
    c.hosts[2].weight = 10;
  });
  const fx: Effect[] = [];
  describeMismatch(s, B, other, 260, fx);
  assert.deepEqual(fx, [{
    kind: "log",
    level: "warn",
    type: "config.mismatch",
    message: "config mismatch with host h2 at version 1: buckets, hosts[h3].weight differ " +
      "(fix: `appliance config set` on one host; the higher version is adopted everywhere)",
    details: { host: "h2", fields: ["buckets", "hosts[h3].weight"] },
  }]);
  assert.equal(s.pendingFetch, undefined);
});

Deno.test("describeMismatch() says nothing for another version or an equal config", () => {
  const s = node();
  const fx: Effect[] = [];
  describeMismatch(s, B, edited((c) => c.buckets = 2048, 2), 260, fx);
  describeMismatch(s, B, makeConfig(3), 260, fx);
  assert.deepEqual(fx, []);
});

// --- through step() ----------------------------------------------------------------------

/** The fixture config with a slower heartbeat, at the same version: a mismatch. */
const SLOWER = makeConfig(3, {
  heartbeat: { periodMs: 100, suspectMisses: 3, deadMisses: 5, port: 7946 },
});
const NEWER = { ...makeConfig(3), version: 2, peerPort: 8000 };

Deno.test("step() refuses a peer with the same config version but another digest, and fetches it once", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  const r = h.hear(B, { configDigest: configDigest(SLOWER) }, 10);
  assert.deepEqual(only(r.effects, "fetchConfig"), [
    { kind: "fetchConfig", hostId: B, address: "10.0.0.2", reason: "mismatch" },
  ]);
  assert.match(
    logs(r.effects, "peer.refused")[0].message,
    /h2 not admitted: config mismatch at version 1/,
  );
  assert.equal(h.state.peers.get(B)!.alive, false);
  assert.equal(h.state.peers.get(B)!.refused, "config mismatch at version 1");
  const again = h.hear(B, { configDigest: configDigest(SLOWER) }, 60);
  assert.deepEqual(labels(again.effects), ["send", "armTimer"]);
});

Deno.test("step() names the differing fields once the mismatched config arrives", () => {
  const h = new NodeHarness(makeConfig(3));
  h.tick(0);
  h.hear(B, { configDigest: configDigest(SLOWER) }, 10);
  const r = h.step({ kind: "peerConfig", hostId: B, config: SLOWER }, 20);
  const [event] = logs(r.effects, "config.mismatch");
  assert.deepEqual(event.details, { host: "h2", fields: ["heartbeat"] });
  assert.match(event.message, /with host h2 at version 1: heartbeat differ/);
  assert.equal(h.state.pendingFetch, undefined);
  assert.equal(h.state.config.heartbeat.periodMs, 50, "a mismatch is not adopted");
});

Deno.test("step() drops a member from the view when its config starts to differ", () => {
  const h = convergedNode();
  const r = h.hear(B, { ...agreeing(h.state.view), configDigest: configDigest(SLOWER) }, 260);
  assert.deepEqual(labels(r.effects).slice(0, 4), [
    "fetchConfig",
    "log:peer.refused",
    "log:peer.down",
    "log:view.changed",
  ]);
  assert.deepEqual(h.state.view.members, [A, C]);
});

Deno.test("step() fetches a newer config version and admits the peer meanwhile", () => {
  const h = convergedNode();
  const r = h.hear(B, {
    ...agreeing(h.state.view),
    configVersion: 2,
    configDigest: configDigest(NEWER),
  }, 260);
  assert.deepEqual(only(r.effects, "fetchConfig"), [
    { kind: "fetchConfig", hostId: B, address: "10.0.0.2", reason: "newer" },
  ]);
  assert.deepEqual(logs(r.effects, "peer.refused"), []);
  assert.equal(h.state.peers.get(B)!.alive, true);
});
