/** The driver carries out the core's effects in order: a plan before the heartbeat that follows it. */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Driver } from "../../agent/driver.ts";
import { initialState } from "../../agent/cluster/node_state.ts";
import type { BucketPlan } from "../../agent/cluster/effects.ts";
import { hostId, KEY, makeConfig } from "../_fakes/cluster_fixtures.ts";
import { MemoryEventLog } from "../_fakes/memory_event_log.ts";

/** Host `self` of a cluster of `hosts`, with fakes around it: `apply` and `send` are the test's. */
function driverFor(o: {
  hosts: number;
  self: number;
  now: () => number;
  apply: (plan: BucketPlan) => Promise<void>;
  send?: () => void;
}): Driver {
  const config = makeConfig(o.hosts);
  return new Driver(
    initialState({ selfId: hostId(o.self), incarnation: 1, key: KEY, config }, 0),
    {
      clock: { now: o.now, wallNow: o.now, setTimer: () => {}, clearTimer: () => {} },
      transport: {
        send: o.send ?? (() => {}),
        onPacket: () => {},
        close: () => Promise.resolve(),
      },
      peers: {
        fetchView: () => Promise.reject(new Error("unused")),
        fetchConfig: () => Promise.reject(new Error("unused")),
        pushConfig: () => Promise.resolve(),
      },
      rules: { apply: o.apply, refresh: () => Promise.resolve(), clear: () => Promise.resolve() },
      events: new MemoryEventLog(),
      saveConfig: () => {},
      hostName: `h${o.self}`,
    },
  );
}

Deno.test("Driver sends the heartbeat that follows a plan only once the plan took effect", async () => {
  const order: string[] = [];
  let finish = () => {};
  const driver = driverFor({
    hosts: 3,
    self: 3,
    now: () => 0,
    send: () => order.push("send"),
    apply: (plan) => {
      order.push(`apply joining=${plan.joining}`);
      return new Promise<void>((r) => finish = () => (order.push("applied"), r()));
    },
  });
  driver.start();
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(order, ["apply joining=true"], "no heartbeat while the rules are not in");
  finish();
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(order, ["apply joining=true", "applied", "send"]);
});

Deno.test("Driver.status() is not converged while a bucket plan is still being applied", async () => {
  const pending: (() => void)[] = [];
  let now = 0;
  const driver = driverFor({
    hosts: 1,
    self: 1,
    now: () => now,
    apply: () => new Promise<void>((r) => pending.push(r)),
  });
  driver.start();
  for (; now < 10_000 && !driver.state.converged; now += 100) driver.input({ kind: "tick" });
  assertEquals(driver.state.converged, true, "a cluster of one converges on its own");
  await new Promise((r) => setTimeout(r, 10));
  assertEquals(driver.status().converged, false, "its first plan is still being applied");
  while (pending.length > 0) {
    pending.shift()!();
    await new Promise((r) => setTimeout(r, 1));
  }
  assertEquals(driver.status().converged, true, "every plan is in");
});
