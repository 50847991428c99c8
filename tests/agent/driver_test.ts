/** The driver carries out the core's effects in order: a plan before the heartbeat that follows it. */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Driver } from "../../agent/driver.ts";
import { initialState } from "../../agent/cluster/node_state.ts";
import type { BucketPlan } from "../../agent/cluster/effects.ts";
import { hostId, KEY, makeConfig } from "../_fakes/cluster_fixtures.ts";
import { MemoryEventLog } from "../_fakes/memory_event_log.ts";

Deno.test("Driver sends the heartbeat that follows a plan only once the plan took effect", async () => {
  const order: string[] = [];
  let finish = () => {};
  const config = makeConfig(3);
  const driver = new Driver(
    initialState({ selfId: hostId(3), incarnation: 1, key: KEY, config }, 0),
    {
      clock: { now: () => 0, wallNow: () => 0, setTimer: () => {}, clearTimer: () => {} },
      transport: {
        send: () => order.push("send"),
        onPacket: () => {},
        close: () => Promise.resolve(),
      },
      peers: {
        fetchView: () => Promise.reject(new Error("unused")),
        fetchConfig: () => Promise.reject(new Error("unused")),
        pushConfig: () => Promise.resolve(),
      },
      rules: {
        apply: (plan: BucketPlan) => {
          order.push(`apply joining=${plan.joining}`);
          return new Promise<void>((r) => finish = () => (order.push("applied"), r()));
        },
        refresh: () => Promise.resolve(),
        clear: () => Promise.resolve(),
      },
      events: new MemoryEventLog(),
      saveConfig: () => {},
      hostName: "h3",
    },
  );
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
  const config = makeConfig(1);
  const driver = new Driver(
    initialState({ selfId: hostId(1), incarnation: 1, key: KEY, config }, 0),
    {
      clock: { now: () => now, wallNow: () => now, setTimer: () => {}, clearTimer: () => {} },
      transport: { send: () => {}, onPacket: () => {}, close: () => Promise.resolve() },
      peers: {
        fetchView: () => Promise.reject(new Error("unused")),
        fetchConfig: () => Promise.reject(new Error("unused")),
        pushConfig: () => Promise.resolve(),
      },
      rules: {
        apply: () => new Promise<void>((r) => pending.push(r)),
        refresh: () => Promise.resolve(),
        clear: () => Promise.resolve(),
      },
      events: new MemoryEventLog(),
      saveConfig: () => {},
      hostName: "h1",
    },
  );
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
