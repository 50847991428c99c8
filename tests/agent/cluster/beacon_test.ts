import assert from "node:assert/strict";
import { sendHeartbeat } from "../../../agent/cluster/beacon.ts";
import { configDigest } from "../../../agent/cluster/config.ts";
import type { Effect } from "../../../agent/cluster/effects.ts";
import { FLAG_AWAITING_MAP, FLAG_LEAVING } from "../../../agent/cluster/heartbeat_codec.ts";
import { initialState, type NodeState } from "../../../agent/cluster/node_state.ts";
import {
  bitOf,
  CLUSTER_ID_BYTES,
  convergedNode,
  hostId,
  KEY,
  makeConfig,
  sentHeartbeats,
} from "../../_fakes/cluster_fixtures.ts";

const A = hostId(1), B = hostId(2), C = hostId(3);

function send(s: NodeState, flags = 0, now = 260): Effect[] {
  const fx: Effect[] = [];
  sendHeartbeat(s, now, fx, flags);
  return fx;
}

Deno.test("sendHeartbeat() advertises this host's state to every other host", () => {
  const s = structuredClone(convergedNode().state);
  s.config.hosts[0].weight = 33;
  const seq = s.seq;
  const [hb, ...rest] = sentHeartbeats(send(s));
  assert.deepEqual(rest, []);
  assert.deepEqual(hb, {
    flags: 0,
    clusterId: CLUSTER_ID_BYTES,
    hostId: A,
    incarnation: 1,
    seq: seq + 1,
    state: "converged",
    priority: 1,
    weight: 33,
    configVersion: 1,
    configDigest: configDigest(makeConfig(3)),
    epoch: 1,
    membersDigest: s.view.membersDigest,
    viewDigest: s.view.viewDigest,
    heard: bitOf(s.config, B) | bitOf(s.config, C),
    content: { offered: 0, committed: 0, staged: 0, served: 0 },
    to: ["10.0.0.2", "10.0.0.3"],
  });
  assert.equal(s.seq, seq + 1);
  assert.equal(s.lastSentAt, 260);
});

Deno.test("sendHeartbeat() numbers every heartbeat", () => {
  const s = structuredClone(convergedNode().state);
  const seqs = [1, 2, 3].map(() => sentHeartbeats(send(s))[0].seq);
  assert.deepEqual(seqs, [seqs[0], seqs[0] + 1, seqs[0] + 2]);
});

Deno.test("sendHeartbeat() vouches only for live peers it does not suspect", () => {
  const s = structuredClone(convergedNode().state);
  s.peers.get(B)!.suspect = true;
  assert.equal(sentHeartbeats(send(s))[0].heard, bitOf(s.config, C));
  s.peers.get(C)!.alive = false;
  assert.equal(sentHeartbeats(send(s))[0].heard, 0);
});

Deno.test("sendHeartbeat() sets bit 31 for the 32nd host without going negative", () => {
  const config = makeConfig(32);
  const s = initialState({ selfId: A, incarnation: 1, key: KEY, config }, 0);
  s.peers.get(hostId(32))!.alive = true;
  assert.equal(sentHeartbeats(send(s))[0].heard, 0x80000000);
});

Deno.test("sendHeartbeat() adds the flags asked for and FLAG_AWAITING_MAP while awaiting", () => {
  const s = structuredClone(convergedNode().state);
  assert.equal(sentHeartbeats(send(s, FLAG_LEAVING))[0].flags, FLAG_LEAVING);
  s.awaitingMap = true;
  assert.equal(sentHeartbeats(send(s, FLAG_LEAVING))[0].flags, FLAG_LEAVING | FLAG_AWAITING_MAP);
});

Deno.test("sendHeartbeat() sends nothing when this host is alone in the config", () => {
  const s = initialState({ selfId: A, incarnation: 1, key: KEY, config: makeConfig(1) }, 0);
  assert.deepEqual(send(s), []);
});

Deno.test("sendHeartbeat() from a host the config no longer lists carries priority 0", () => {
  const config = makeConfig(3);
  config.hosts = config.hosts.filter((h) => h.id !== A);
  const s = initialState({ selfId: A, incarnation: 1, key: KEY, config }, 0);
  const [hb] = sentHeartbeats(send(s));
  assert.deepEqual([hb.priority, hb.weight], [0, 0]);
  assert.deepEqual(hb.to, ["10.0.0.2", "10.0.0.3"]);
});
