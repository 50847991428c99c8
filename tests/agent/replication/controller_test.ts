import assert from "node:assert/strict";
import {
  type ControllerInput,
  decide,
  type PeerContent,
  RETRY_MS,
} from "../../../agent/replication/controller.ts";
import { DEFAULT_REPLICATION } from "../../../agent/cluster/replication_settings.ts";

const EXP = 1, B = 2, C = 3;
const settings = { ...DEFAULT_REPLICATION, exporter: EXP, source: "/srv/www" };

function peer(id: number, g: Partial<PeerContent["gens"]> = {}, error = false): PeerContent {
  return { id, gens: { offered: 0, committed: 0, staged: 0, served: 0, ...g }, error };
}

function input(over: Partial<ControllerInput>): ControllerInput {
  return {
    now: 1000,
    selfId: EXP,
    settings,
    peers: [],
    settled: true,
    staged: [],
    served: 0,
    offered: 0,
    offeredAt: 0,
    ...over,
  };
}

Deno.test("decide() on the exporter commits an offer once every live host staged it", () => {
  const waiting = decide(
    { committed: 0 },
    input({
      staged: [1],
      offered: 1,
      offeredAt: 900,
      peers: [peer(B, { staged: 1 }), peer(C)],
    }),
  );
  assert.deepEqual(waiting.actions, []);
  assert.equal(waiting.report.offered, 1);
  assert.equal(waiting.report.committed, 0);

  const ready = decide(
    { committed: 0 },
    input({
      staged: [1],
      offered: 1,
      offeredAt: 900,
      peers: [peer(B, { staged: 1 }), peer(C, { staged: 1 })],
    }),
  );
  assert.deepEqual(ready.actions, [
    { kind: "commit", gen: 1, waited: [] },
    { kind: "publish", gen: 1 },
  ]);
  assert.equal(ready.state.committed, 1);
  assert.deepEqual(ready.report, {
    offered: 1,
    committed: 1,
    staged: 1,
    served: 0, // until the flip is done
    error: false,
    stale: false,
  });
});

Deno.test("decide() on the exporter commits without a host that reports an error", () => {
  const d = decide(
    { committed: 0 },
    input({
      staged: [1],
      offered: 1,
      peers: [peer(B, { staged: 1 }), peer(C, {}, true)],
    }),
  );
  assert.equal(d.state.committed, 1);
});

Deno.test("decide() on the exporter commits after the stage timeout, naming the late hosts", () => {
  const i = input({
    staged: [1],
    offered: 1,
    offeredAt: 0,
    peers: [peer(B), peer(C, { staged: 1 })],
  });
  assert.deepEqual(
    decide({ committed: 0 }, { ...i, now: settings.stageTimeoutMs - 1 }).actions,
    [],
  );
  const d = decide({ committed: 0 }, { ...i, now: settings.stageTimeoutMs });
  assert.deepEqual(d.actions[0], { kind: "commit", gen: 1, waited: [B] });
});

Deno.test("decide() on an importer fetches the offer from holders first, the exporter last", () => {
  const d = decide(
    { committed: 0 },
    input({
      selfId: C,
      peers: [peer(EXP, { offered: 2, committed: 1, staged: 2 }), peer(B, { staged: 2 })],
      staged: [1],
      served: 1,
    }),
  );
  assert.deepEqual(d.actions, [{ kind: "fetch", gen: 2, sources: [B, EXP] }]);
  assert.equal(d.report.offered, 0, "importers offer nothing");
  assert.equal(d.report.staged, 1);
});

Deno.test("decide() on an importer does not fetch while a fetch runs or before the retry delay", () => {
  const base = input({
    selfId: B,
    peers: [peer(EXP, { offered: 2, staged: 2 })],
  });
  assert.deepEqual(decide({ committed: 0 }, { ...base, fetching: 2 }).actions, []);
  const failed = { gen: 2, at: 1000, error: "No space left on device" };
  const early = decide({ committed: 0 }, { ...base, failed, now: 1000 + RETRY_MS - 1 });
  assert.deepEqual(early.actions, []);
  assert.equal(early.report.error, true);
  const later = decide({ committed: 0 }, { ...base, failed, now: 1000 + RETRY_MS });
  assert.equal(later.actions[0].kind, "fetch");
});

Deno.test("decide() flips to the committed generation only once it is staged", () => {
  const exp = peer(EXP, { offered: 3, committed: 3, staged: 3 });
  const notYet = decide(
    { committed: 0 },
    input({ selfId: B, peers: [exp], staged: [2], served: 2, fetching: 3 }),
  );
  assert.deepEqual(notYet.actions, []);
  const staged = decide(
    { committed: 0 },
    input({ selfId: B, peers: [exp], staged: [2, 3], served: 2 }),
  );
  assert.deepEqual(staged.actions, [{ kind: "publish", gen: 3 }]);
  assert.equal(staged.report.served, 2, "what it serves until the flip is done");
});

Deno.test("decide() never flips backwards when a restarted exporter has not committed yet", () => {
  const exp = peer(EXP, { offered: 3, committed: 0, staged: 3 });
  const d = decide({ committed: 0 }, input({ selfId: B, peers: [exp], staged: [3], served: 3 }));
  assert.deepEqual(d.actions, []);
});

Deno.test("decide() with strict consistency marks a host behind the committed generation stale", () => {
  const strict = { ...settings, consistency: "strict" as const };
  const exp = peer(EXP, { offered: 4, committed: 4, staged: 4 });
  const behind = decide(
    { committed: 0 },
    input({ selfId: B, settings: strict, peers: [exp], staged: [3], served: 3, fetching: 4 }),
  );
  assert.equal(behind.report.stale, true);
  const relaxed = decide(
    { committed: 0 },
    input({ selfId: B, peers: [exp], staged: [3], served: 3, fetching: 4 }),
  );
  assert.equal(relaxed.report.stale, false);
  const caughtUp = decide(
    { committed: 0 },
    input({ selfId: B, settings: strict, peers: [exp], staged: [3, 4], served: 3 }),
  );
  assert.equal(caughtUp.report.stale, false, "it flips in this very decision");
});

Deno.test("decide() with no live exporter keeps serving and fetches nothing", () => {
  const d = decide(
    { committed: 0 },
    input({ selfId: B, peers: [peer(C, { staged: 5 })], staged: [4], served: 4 }),
  );
  assert.deepEqual(d.actions, []);
  assert.equal(d.report.served, 4);
});

Deno.test("decide() on an importer waits for an agreed view before it picks sources", () => {
  const i = input({ selfId: C, peers: [peer(EXP, { offered: 1, staged: 1 })] });
  assert.deepEqual(decide({ committed: 0 }, { ...i, settled: false }).actions, []);
  assert.equal(decide({ committed: 0 }, i).actions[0].kind, "fetch");
});
