/** The health-check input and flag: an unhealthy service drains its host out of the map. */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  agreeing,
  convergedNode,
  hostId,
  logs,
  sentHeartbeats,
} from "../../_fakes/cluster_fixtures.ts";
import { FLAG_UNHEALTHY } from "../../../agent/cluster/heartbeat_codec.ts";

Deno.test("step() drops this host from the view when its service turns unhealthy, and tells peers at once", () => {
  const h = convergedNode(3);
  const r = h.step(
    { kind: "health", healthy: false, reason: "GET http://127.0.0.1/ answered 503" },
    260,
  );
  assert(!h.state.view.members.includes(hostId(1)), "self left the members");
  assertEquals(h.state.lastPlan?.accepting, false);
  assertEquals(
    logs(r.effects, "host.health")[0].message,
    "local service unhealthy: GET http://127.0.0.1/ answered 503",
  );
  const sent = sentHeartbeats(r.effects);
  assert(
    sent.length > 0 && sent.every((hb) => (hb.flags & FLAG_UNHEALTHY) !== 0),
    "heartbeats carry UNHEALTHY",
  );
  const back = h.step({ kind: "health", healthy: true, reason: "200" }, 270);
  assert(h.state.view.members.includes(hostId(1)), "self back in the members");
  assertEquals(logs(back.effects, "host.health").length, 1);
});

Deno.test("step() removes a peer whose heartbeat says unhealthy, and takes it back when healthy", () => {
  const h = convergedNode(3);
  h.hear(hostId(3), { ...agreeing(h.state.view), flags: FLAG_UNHEALTHY }, 260);
  assert(!h.state.view.members.includes(hostId(3)), "h3 left the members");
  h.hear(hostId(3), { ...agreeing(h.state.view), flags: 0 }, 270);
  assert(h.state.view.members.includes(hostId(3)), "h3 is back");
});

Deno.test("step() ignores a health report that repeats the current verdict", () => {
  const h = convergedNode(3);
  const r = h.step({ kind: "health", healthy: true, reason: "200" }, 260);
  assertEquals(logs(r.effects, "host.health").length, 0);
});

Deno.test("step() puts a host with a faulty interface in the fault state, out of the view, until it is back", () => {
  const h = convergedNode(3);
  const r = h.step(
    { kind: "fault", reason: 'interface "eth1" is down (see: ip link set eth1 up)' },
    260,
  );
  assertEquals(h.state.actual, "fault");
  assert(!h.state.view.members.includes(hostId(1)));
  assertEquals(h.state.lastPlan?.accepting, false);
  assertEquals(logs(r.effects, "host.state")[0].message, "converged -> fault");
  assert(sentHeartbeats(r.effects).some((hb) => hb.state === "fault"), "peers are told");
  h.step({ kind: "fault", reason: null }, 270);
  assert(h.state.view.members.includes(hostId(1)));
  assert(["converging", "converged"].includes(h.state.actual as string), h.state.actual);
});
