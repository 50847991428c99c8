import assert from "node:assert/strict";
import type { Input } from "../../../agent/cluster/effects.ts";
import { decodeHeartbeat, hexToBytes } from "../../../agent/cluster/heartbeat_codec.ts";
import { SimCluster } from "../../../agent/sim/cluster.ts";

function started(hosts: number, seed = 1): SimCluster {
  const c = new SimCluster({ hosts, seed });
  c.startAll();
  c.runUntil(2000);
  return c;
}

/** (sender, seq) of a heartbeat, decoded with the cluster's key. */
function beat(c: SimCluster, input: Input): string {
  if (input.kind !== "packet") throw new Error("not a packet");
  const r = decodeHeartbeat(input.bytes, hexToBytes(c.config.clusterId), c.key);
  if (!r.ok) throw new Error(r.reason);
  return `${c.byId(r.hb.hostId)!.name}#${r.hb.seq}`;
}

Deno.test("SimCluster brings 3 and 12 hosts from a cold start to one view", () => {
  for (const n of [3, 12]) {
    const c = started(n);
    const v = c.agreement();
    assert.ok(v, `no agreement among ${n} hosts`);
    assert.equal(v.members.length, n);
    const owned = c.hosts.reduce((acc, h) => acc + (h.plan?.owned.default.length ?? 0), 0);
    assert.equal(owned, c.config.buckets);
  }
});

Deno.test("SimCluster is a pure function of its seed", () => {
  const run = (seed: number) => {
    const c = new SimCluster({ hosts: 5, seed, network: { loss: 0.1, jitterMs: 5 } });
    c.startAll();
    c.at(1500, () => c.crash(2));
    c.at(1800, () => c.pause(0, 300));
    c.runUntil(4000);
    return [c.steps, ...c.live().map((h) => h.state!.view.viewDigest.join(","))];
  };
  assert.deepEqual(run(7), run(7));
  assert.notDeepEqual(run(7), run(8));
});

Deno.test("a paused host gets nothing while frozen, then every held packet in order", () => {
  const c = started(4);
  const sent: string[] = [];
  const got: { at: number; beat: string }[] = [];
  const h1 = c.host(0);
  c.observe((e) => {
    if (e.type !== "step") return;
    if (e.host === h1 && e.input.kind === "packet") got.push({ at: c.now, beat: beat(c, e.input) });
    if (e.host === h1) return;
    for (const f of e.result.effects) {
      if (f.kind === "send" && f.to.includes(h1.address)) {
        sent.push(beat(c, { kind: "packet", bytes: f.bytes, from: e.host.address }));
      }
    }
  });
  const t0 = c.now;
  c.pause(0, 120);
  c.runUntil(t0 + 119);
  assert.equal(h1.status, "paused");
  assert.equal(got.length, 0);
  const heldSent = [...sent];
  assert.ok(heldSent.length >= 6, `only ${heldSent.length} packets sent during the pause`);
  c.runUntil(t0 + 120);
  assert.equal(h1.status, "running");
  assert.deepEqual(got.map((g) => g.beat), heldSent, "held packets arrive in send order");
  assert.ok(got.every((g) => g.at === t0 + 120), "all at the resume instant");
});

Deno.test("a paused host runs its overdue deadlines late, at the instant it resumes", () => {
  const c = started(3);
  const steps: number[] = [], beats: number[] = [];
  c.observe((e) => {
    if (e.type !== "step" || e.host.index !== 1) return;
    steps.push(c.now);
    if (e.result.effects.some((f) => f.kind === "send")) beats.push(c.now);
  });
  const t0 = c.now;
  c.pause(1, 200);
  c.runUntil(t0 + 300);
  assert.equal(steps[0], t0 + 200, "nothing runs while frozen");
  assert.equal(beats[0], t0 + 200, "the overdue heartbeat goes out on resume");
});

Deno.test("crash drops the host's queued events and its plan; peers evict it", () => {
  const c = started(3);
  const h2 = c.host(1);
  let stepsAfter = 0;
  c.observe((e) => {
    if (e.type === "step" && e.host === h2) stepsAfter++;
  });
  c.crash(1);
  assert.equal(h2.plan, undefined);
  c.runFor(1000);
  assert.equal(stepsAfter, 0);
  const v = c.agreement();
  assert.ok(v && !v.members.includes(h2.id), "survivors agree without the crashed host");
});

Deno.test("restart starts a fresh process with the next incarnation, and it is readmitted", () => {
  const c = started(3);
  const h3 = c.host(2);
  assert.equal(h3.incarnation, 1);
  c.restart(2);
  assert.equal(h3.incarnation, 2);
  assert.equal(h3.state!.awaitingMap, true);
  c.runFor(1000);
  const v = c.agreement();
  assert.ok(v && v.members.length === 3);
  assert.equal(c.host(0).state!.peers.get(h3.id)!.incarnation, 2);
});

Deno.test("a host that starts late joins the agreed view", () => {
  const c = new SimCluster({ hosts: 4, seed: 2 });
  for (const i of [0, 1, 2]) c.start(i);
  c.runUntil(2000);
  assert.equal(c.agreement()!.members.length, 3);
  c.start(3);
  c.runFor(500);
  assert.equal(c.agreement()?.members.length, 4);
});

Deno.test("leave bows out: the host exits and the others agree at once", () => {
  const c = started(3);
  const t0 = c.now;
  c.leave(0);
  assert.equal(c.host(0).status, "left");
  const at = c.runUntilTrue(() => c.agreement()?.members.length === 2, t0 + 1000);
  assert.ok(at !== undefined && at - t0 < 10, `agreed ${at! - t0} ms after the bow-out`);
});

Deno.test("a partition cuts heartbeats across groups, and healing restores them", () => {
  const c = started(4);
  c.partition([[0, 1], [2, 3]]);
  c.runFor(1000);
  const [h1, h3] = [c.host(0), c.host(2)];
  assert.equal(h1.state!.peers.get(h3.id)!.alive, false);
  assert.equal(h1.state!.peers.get(c.host(1).id)!.alive, true);
  c.heal();
  c.runFor(500);
  assert.equal(c.agreement()?.members.length, 4);
});

Deno.test("a map fetch cut off by a partition fails after the client timeout", () => {
  const c = started(3);
  let askedAt: number | undefined;
  let failed: { at: number; error: string } | undefined;
  c.observe((e) => {
    if (e.type !== "step" || e.host.index !== 0) return;
    if (e.input.kind === "fetchFailed") failed ??= { at: c.now, error: e.input.error };
    if (askedAt === undefined && e.result.effects.some((f) => f.kind === "fetchMap")) {
      askedAt = c.now;
      c.at(c.now, () => c.partition([[0], [1, 2]]));
    }
  });
  c.restart(0); // a fresh process fetches the agreed view from a peer
  c.runFor(2000);
  assert.ok(askedAt !== undefined, "the restarted host asked for the map");
  assert.ok(failed, "the fetch failed");
  assert.equal(failed.at, askedAt + 1 + 1000, "request leg (1 ms) + client timeout");
  assert.match(failed.error, /timed out/);
});

Deno.test("SimCluster stops with an error when virtual time stops advancing", () => {
  const c = started(3);
  const again = () => c.at(c.now, again);
  again();
  assert.throws(() => c.runFor(10), /livelock/);
});

Deno.test("SimCluster refuses to start a running host or leave a stopped one", () => {
  const c = started(3);
  assert.throws(() => c.start(0), /already running/);
  c.crash(1);
  assert.throws(() => c.leave(1), /crashed, not running/);
  assert.throws(() => c.host(9), /no host index 9/);
});
