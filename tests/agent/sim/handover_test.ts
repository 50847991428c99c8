/**
 * Early bucket handover (agent/cluster/converge.ts, `released()`): a host takes a bucket
 * before the cluster agrees once the bucket's previous owner announces the taker's view.
 * These runs have views churn after a heal — several hosts come back one by one, and
 * same-epoch views are resolved by fetching — on a network with 5 ± 5 ms delay, and check
 * that no bucket is ever held by two hosts that see each other. Others flap one host out
 * of the map and back (stop/start, an interface fault) faster than one network delay.
 */
import assert from "node:assert/strict";
import type { Input } from "../../../agent/cluster/effects.ts";
import { SimCluster } from "../../../agent/sim/cluster.ts";
import { OwnershipWatch } from "../../../agent/sim/ownership.ts";

function healAfterSplit(hosts: number, seed: number): OwnershipWatch {
  const c = new SimCluster({ hosts, seed, network: { delayMs: 5, jitterMs: 5 } });
  const watch = new OwnershipWatch(c);
  c.startAll();
  c.runUntil(2000);
  const half = Math.ceil(hosts / 2);
  c.partition([
    c.hosts.slice(0, half).map((h) => h.index),
    c.hosts.slice(half).map((h) => h.index),
  ]);
  c.runFor(1000);
  c.heal();
  c.runFor(1000);
  assert.ok(c.agreement(), `seed ${seed}: no agreement 1 s after the heal`);
  return watch;
}

Deno.test("buckets keep one owner while views churn after a heal (6 hosts, 5 ± 5 ms delay)", () => {
  const broken: string[] = [];
  for (let seed = 1; seed <= 20; seed++) {
    const w = healAfterSplit(6, seed);
    if (w.first) {
      const d = w.first;
      broken.push(
        `seed ${seed}: bucket ${d.bucket} held by ${d.hosts.join(" and ")} at ${
          d.at.toFixed(2)
        } ms ` +
          `(${w.duplicateMs.toFixed(1)} ms of duplicates)`,
      );
    }
  }
  assert.deepEqual(broken, []);
});

/**
 * A host leaves the map (it announces a view without itself, having released its
 * buckets), comes back 3 ms later, and retakes its buckets at once: its last agreed view
 * says they are its own (converge.ts released(): `prev === s.selfId`). Its peers, 5 ms
 * away, see the first announcement, take its buckets early, and hold them until the
 * second one arrives: 3 ms with two owners.
 */
function flap(out: Input, back: Input, seed: number): string | undefined {
  const c = new SimCluster({ hosts: 4, seed, network: { delayMs: 5 } });
  const watch = new OwnershipWatch(c);
  c.startAll();
  c.runUntil(2000);
  const h = c.rng.int(0, 3);
  c.input(h, out);
  c.runFor(3);
  c.input(h, back);
  c.runFor(1000);
  assert.ok(c.agreement(), `seed ${seed}: no agreement after the flap`);
  const d = watch.first;
  if (!d) return undefined;
  const what = `${JSON.stringify(out)} then ${JSON.stringify(back)}`;
  return `${what} on ${c.host(h).name}, seed ${seed}: bucket ${d.bucket} held by ` +
    `${d.hosts.join(" and ")} at ${d.at} ms (${watch.duplicateMs.toFixed(1)} ms of duplicates)`;
}

Deno.test("a host out of the map and back within a network delay retakes no bucket a peer holds", () => {
  const cmd = (command: "stop" | "start" | "drainstop" | "suspend" | "resume"): Input => ({
    kind: "command",
    command,
  });
  const flaps: [Input, Input][] = [
    [cmd("stop"), cmd("start")],
    [cmd("drainstop"), cmd("start")],
    [cmd("suspend"), cmd("resume")],
    [{ kind: "fault", reason: "eth1 is down" }, { kind: "fault", reason: null }],
  ];
  const broken: string[] = [];
  for (const [out, back] of flaps) {
    for (const seed of [1, 2, 3]) {
      const why = flap(out, back, seed);
      if (why) broken.push(why);
    }
  }
  assert.deepEqual(broken, []);
});
