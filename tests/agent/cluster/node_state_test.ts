import assert from "node:assert/strict";
import { configDigest } from "../../../agent/cluster/config.ts";
import { DROP_REASONS, hostName, initialState } from "../../../agent/cluster/node_state.ts";
import { emptyView } from "../../../agent/cluster/view.ts";
import {
  CLUSTER_ID_BYTES,
  hostId,
  KEY,
  makeConfig,
  NodeHarness,
} from "../../_fakes/cluster_fixtures.ts";

const A = hostId(1), B = hostId(2), C = hostId(3);

Deno.test("initialState() starts converging, awaiting a map, with every peer unheard", () => {
  const config = makeConfig(3);
  const s = initialState({ selfId: A, incarnation: 4, key: KEY, config }, 1000);
  assert.equal(s.admin, "active");
  assert.equal(s.actual, "converging");
  assert.equal(s.awaitingMap, true);
  assert.equal(s.converged, false);
  assert.equal(s.incarnation, 4);
  assert.equal(s.seq, 0);
  assert.deepEqual(s.clusterIdBytes, CLUSTER_ID_BYTES);
  assert.deepEqual(s.configDigest, configDigest(config));
  assert.deepEqual(s.hostBits, new Map([[A, 0], [B, 1], [C, 2]]));
  assert.deepEqual(s.view, emptyView());
  assert.deepEqual([...s.peers.keys()], [B, C]);
  assert.deepEqual(s.peers.get(B), {
    id: B,
    alive: false,
    suspect: false,
    lastHeard: 0,
    incarnation: 0,
    seq: 0,
  });
  assert.equal(s.startedAt, 1000);
  assert.equal(s.convergingSince, 1000);
  assert.equal(s.nextBeatAt, 1000, "the first heartbeat goes out at once");
});

Deno.test("initialState() has a zero counter for every drop reason", () => {
  const s = initialState({ selfId: A, incarnation: 1, key: KEY, config: makeConfig(2) }, 0);
  assert.deepEqual(Object.keys(s.drops).sort(), [...DROP_REASONS].sort());
  assert.ok(Object.values(s.drops).every((n) => n === 0));
  assert.equal(DROP_REASONS.length, 8);
});

Deno.test("initialState() keeps a stopped or suspended host so across restarts", () => {
  for (const admin of ["stopped", "suspended"] as const) {
    const s = initialState(
      { selfId: A, incarnation: 2, key: KEY, config: makeConfig(2), admin },
      0,
    );
    assert.equal(s.admin, admin);
    assert.equal(s.actual, admin);
  }
});

// Regression (fixed): the agent persists the admin state (agent.ts) and passes it back to initialState, but a
// host restarted while "draining" gets no drainDeadline, so onTimers never ends the drain: it
// stays draining (taking no new flows) until an operator runs a command.
Deno.test({
  name: "a host restarted while draining still stops by the drain timeout",
  fn() {
    const config = makeConfig(1, { drainTimeoutMs: 1000 });
    const h = new NodeHarness(config, A, 0, { admin: "draining" });
    h.tick(0);
    h.advance(5000);
    h.tick(5000);
    assert.equal(h.state.actual, "stopped");
  },
});

Deno.test("hostName() names a host from the config, or by id", () => {
  const s = initialState({ selfId: A, incarnation: 1, key: KEY, config: makeConfig(2) }, 0);
  assert.equal(hostName(s, B), "h2");
  assert.equal(hostName(s, 999), "#999");
});
