import assert from "node:assert/strict";
import type { AdminCommand } from "../../../agent/cluster/effects.ts";
import { FLAG_LEAVING } from "../../../agent/cluster/heartbeat_codec.ts";
import {
  convergedNode,
  hostId,
  labels,
  logs,
  NodeHarness,
  only,
  sentHeartbeats,
} from "../../_fakes/cluster_fixtures.ts";

const A = hostId(1), B = hostId(2), C = hostId(3);

Deno.test("drainstop moves to draining with a drain deadline and stops taking new flows", () => {
  const h = convergedNode();
  const r = h.command("drainstop", 260);
  assert.equal(r.error, undefined);
  assert.deepEqual(labels(r.effects), [
    "log:host.command",
    "log:view.changed",
    "log:host.state",
    "changed",
    "applyBuckets",
    "send",
    "armTimer",
  ]);
  assert.deepEqual(logs(r.effects, "host.command")[0].details, {
    command: "drainstop",
    by: "test",
  });
  assert.equal(logs(r.effects, "host.state")[0].message, "converged -> draining");
  assert.equal(h.state.admin, "draining");
  assert.equal(h.state.actual, "draining");
  assert.equal(h.state.drainDeadline, 260 + 60_000);
  assert.deepEqual(h.state.view.members, [B, C]);
  const plan = only(r.effects, "applyBuckets")[0].plan;
  assert.equal(plan.accepting, false);
  assert.deepEqual(plan.owned, { default: [] });
  assert.equal(plan.defaultHost, false);
  assert.equal(sentHeartbeats(r.effects)[0].state, "draining");
});

Deno.test("a draining host stops when the drain deadline passes", () => {
  const h = convergedNode(1, { drainTimeoutMs: 1000 });
  h.command("drainstop", 260);
  const waiting = h.advance(1260);
  assert.deepEqual(logs(waiting, "host.state"), []);
  assert.equal(h.state.actual, "draining");
  const r = h.tick(1260);
  assert.deepEqual(labels(r.effects), [
    "log:host.drained",
    "log:host.state",
    "changed",
    "armTimer",
  ]);
  assert.equal(logs(r.effects)[0].message, "drain timeout reached: stopping");
  assert.equal(logs(r.effects)[1].message, "draining -> stopped");
  assert.equal(h.state.admin, "stopped");
  assert.equal(h.state.drainDeadline, undefined);
});

Deno.test("a drained input ends the drain: the host wants to be stopped", () => {
  const h = convergedNode();
  h.command("drainstop", 260);
  const r = h.step({ kind: "drained" }, 270);
  assert.equal(
    logs(r.effects, "host.drained")[0].message,
    "drain finished: no established connections left",
  );
  assert.equal(h.state.admin, "stopped");
  assert.equal(h.state.drainDeadline, undefined);
});

// Regression (fixed): step()'s `drained` case sets admin to "stopped" but never calls refreshAgreement, so
// the actual state stays "draining" (no "draining -> stopped" log, no `changed`, heartbeats
// still say draining) until some later packet happens to refresh it; a lone host never moves.
Deno.test({
  name: "a drained input stops a draining host in the same step",
  fn() {
    const h = convergedNode(1);
    h.command("drainstop", 260);
    const r = h.step({ kind: "drained" }, 270);
    assert.equal(h.state.actual, "stopped");
    assert.deepEqual(logs(r.effects, "host.state").map((e) => e.message), ["draining -> stopped"]);
  },
});

Deno.test("a drained input is ignored unless the host is draining", () => {
  const h = convergedNode();
  const r = h.step({ kind: "drained" }, 260);
  assert.deepEqual(labels(r.effects), ["armTimer"]);
  assert.equal(h.state.admin, "active");
});

Deno.test("drainstop is refused unless the host is active", () => {
  const h = convergedNode();
  h.command("stop", 260);
  const r = h.command("drainstop", 270);
  assert.equal(r.error, "nothing to drain: the host is stopped");
  assert.equal(h.state.drainDeadline, undefined);
});

Deno.test("start ends a drain and the host takes buckets again", () => {
  const h = convergedNode(1);
  h.command("drainstop", 260);
  const r = h.command("start", 270);
  assert.deepEqual(logs(r.effects, "host.state").map((e) => e.message), ["draining -> converged"]);
  assert.equal(h.state.drainDeadline, undefined);
  assert.equal(only(r.effects, "applyBuckets")[0].plan.owned.default.length, 1024);
});

Deno.test("stop releases every bucket at once", () => {
  const h = convergedNode();
  const r = h.command("stop", 260);
  assert.equal(logs(r.effects, "host.state")[0].message, "converged -> stopped");
  assert.deepEqual(only(r.effects, "applyBuckets")[0].plan, {
    epoch: 2,
    configVersion: 1,
    owned: { default: [] },
    single: {},
    defaultHost: false,
    accepting: false,
  });
});

Deno.test("a suspended host refuses stop and says to resume first", () => {
  const h = convergedNode();
  h.command("suspend", 260);
  assert.equal(h.state.actual, "suspended");
  const before = h.state;
  for (const command of ["stop", "start", "drainstop", "suspend"] as const) {
    const r = h.command(command, 270);
    assert.equal(
      r.error,
      "this host is suspended and ignores commands: run `appliance resume` first",
      command,
    );
    assert.deepEqual(labels(r.effects), ["armTimer"], command);
  }
  assert.equal(h.state.admin, before.admin);
  assert.equal(h.state.view, before.view);
});

Deno.test("resume is refused unless the host is suspended", () => {
  const h = convergedNode();
  const r = h.command("resume", 260);
  assert.equal(r.error, "the host is not suspended (it is active)");
  assert.deepEqual(labels(r.effects), ["armTimer"]);
  h.command("stop", 270);
  assert.equal(h.command("resume", 280).error, "the host is not suspended (it is stopped)");
});

Deno.test("resume brings a suspended host back", () => {
  const h = convergedNode();
  h.command("suspend", 260);
  const r = h.command("resume", 270);
  assert.equal(r.error, undefined);
  assert.equal(logs(r.effects, "host.state")[0].message, "suspended -> converging");
  assert.deepEqual(h.state.view.members, [A, B, C]);
});

Deno.test("leave sends two heartbeats with FLAG_LEAVING and arms no timer", () => {
  const h = convergedNode();
  const r = h.command("leave", 260);
  const beats = sentHeartbeats(r.effects);
  assert.deepEqual(beats.map((hb) => hb.flags & FLAG_LEAVING), [0, FLAG_LEAVING, FLAG_LEAVING]);
  assert.deepEqual(beats[2].to, ["10.0.0.2", "10.0.0.3"]);
  assert.ok(beats[2].seq > beats[1].seq, "each bow-out has its own sequence number");
  assert.deepEqual(only(r.effects, "armTimer"), []);
  assert.equal(h.state.leaving, true);
  assert.deepEqual(h.state.view.members, [B, C]);
  assert.equal(h.state.lastPlan?.accepting, false);
});

// Regression (fixed): onTimers() sends the periodic heartbeat even when the host is leaving, so a leave that
// lands when a beat is due (e.g. Driver.stop() between the timer's due time and its callback)
// ends with a plain heartbeat *after* the two bow-outs. Peers then take the host back as up
// (peer.up, a view change) and only drop it again a detection time later.
Deno.test({
  name: "leave sends no plain heartbeat after its bow-out, even when a beat is due",
  fn() {
    const h = convergedNode();
    const r = h.command("leave", h.state.nextBeatAt);
    const flags = sentHeartbeats(r.effects).map((hb) => hb.flags & FLAG_LEAVING);
    assert.deepEqual(flags.slice(flags.indexOf(FLAG_LEAVING)), [FLAG_LEAVING, FLAG_LEAVING]);
  },
});

Deno.test("after leave every command is refused", () => {
  const h = convergedNode();
  h.command("leave", 260);
  for (const command of ["start", "stop", "resume", "leave"] as const) {
    assert.equal(h.command(command, 270).error, "the agent is shutting down", command);
  }
});

Deno.test("every state change emits one host.state event, A -> B", () => {
  for (const n of [1, 3]) {
    const h = convergedNode(n);
    const commands: AdminCommand[] = [
      "drainstop",
      "start",
      "stop",
      "start",
      "suspend",
      "resume",
      "stop",
      "suspend",
      "resume",
      "drainstop",
      "suspend",
    ];
    let changes = 0;
    for (const command of commands) {
      const from = h.state.actual;
      const r = h.command(command, h.now + 1);
      const to = h.state.actual;
      const events = logs(r.effects, "host.state");
      if (from === to) {
        assert.deepEqual(events, [], `${command}: no change, no event`);
        continue;
      }
      changes++;
      assert.deepEqual(
        events.map((e) => [e.message, e.details]),
        [[`${from} -> ${to}`, { from, to, epoch: h.state.view.epoch }]],
        `${command} with ${n} hosts`,
      );
      assert.equal(only(r.effects, "changed").length, 1);
    }
    assert.ok(changes >= commands.length - 1, `only ${changes} changes with ${n} hosts`);
  }
});

Deno.test("a host started as stopped takes no buckets until started", () => {
  const h = new NodeHarness(convergedNode(1).config, A, 0, { admin: "stopped" });
  h.tick(0);
  h.advance(300);
  assert.equal(h.state.actual, "stopped");
  assert.equal(h.state.lastPlan?.accepting, false);
  const r = h.command("start", 300);
  assert.equal(logs(r.effects, "host.state")[0].message, "stopped -> converged");
  assert.equal(h.state.lastPlan?.owned.default.length, 1024);
});
