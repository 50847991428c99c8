/**
 * Planned hand-overs: a host that releases buckets announces it only after the release took
 * effect, so the others may take them at once instead of after a convergence round.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { agreeing, convergedNode, hostId } from "../../_fakes/cluster_fixtures.ts";
import { FLAG_LEAVING } from "../../../agent/cluster/heartbeat_codec.ts";
import { ownedBy } from "../../../agent/cluster/bucket_map.ts";

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
