/**
 * Convoy noticed a stopped web service; NLB cannot. With a health check configured, a host
 * whose service stops drains out of the bucket map, and serves again once it is back. And a
 * cluster IP that another machine already uses is refused at start.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  assertAllServe,
  burst,
  editCluster,
  NOT_ROOT,
  seen,
  summarize,
  withLab,
} from "./_lab_helpers.ts";

Deno.test({
  name: "a host whose web service stops drains out of the map and returns when it is healthy",
  ignore: NOT_ROOT,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab({ hosts: 3 }, async (lab) => {
      await editCluster(lab, ["rules", "set", "default", "--affinity", "none"]);
      await editCluster(lab, [
        "config",
        "set",
        "health.kind=http",
        "health.url=http://127.0.0.1/",
        "health.intervalMs=200",
        "health.timeoutMs=150",
        "health.rise=2",
        "health.fall=2",
      ]);
      const [h1, h2, h3] = lab.hosts;
      await assertAllServe(lab);

      await lab.stopBackend(h3);
      const s1 = await lab.waitFor(
        h1,
        (s) => seen(s, h3).health === "unhealthy" && seen(s, h3).share === 0 && s.converged,
        10_000,
      );
      assertEquals(seen(s1, h3).state !== "unreachable", true, "h3's agent is still up");
      const own = await lab.status(h3);
      assert(
        own.hosts.find((x) => x.self)?.healthReason?.includes("GET http://127.0.0.1/"),
        JSON.stringify(own.hosts),
      );
      await lab.waitConverged(10_000);
      const sum = summarize(await burst(lab, 300));
      assertEquals(sum.failed, 0, JSON.stringify(sum));
      assertEquals(Object.keys(sum.hosts).sort(), ["h1", "h2"], JSON.stringify(sum));
      const events = await lab.cli(h3, [
        "events",
        "--kind",
        "host.health",
        "--state-dir",
        h3.stateDir,
      ]);
      assert(events.includes("local service unhealthy"), events);

      await lab.startBackend(h3);
      await lab.waitFor(
        h2,
        (s) => seen(s, h3).health === "healthy" && seen(s, h3).share > 0.3 && s.converged,
        10_000,
      );
      await lab.waitConverged(10_000);
      await assertAllServe(lab);
    });
  },
});

Deno.test({
  name: "an agent refuses to start when another machine already uses the cluster IP",
  ignore: NOT_ROOT,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab({ hosts: 1 }, async (lab) => {
      const [h1] = lab.hosts;
      await lab.kill(h1, "SIGTERM");
      const c1 = lab.clients[0];
      await lab.exec(c1, ["ip", "addr", "add", `${lab.clusterIp}/24`, "dev", "eth0"]);
      const err = await lab.start(h1, 15_000).then(() => "started", (e: Error) => e.message);
      assert(
        err.includes(`the cluster IP ${lab.clusterIp} is already used by another machine`),
        err,
      );
    });
  },
});

Deno.test({
  name:
    "a missing or down cluster interface puts the host in the fault state with the reason, and it recovers",
  ignore: NOT_ROOT,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLab({ hosts: 2 }, async (lab) => {
      await editCluster(lab, ["rules", "set", "default", "--affinity", "none"]);
      const [h1, h2] = lab.hosts;
      // Down: the host's own side of the link.
      await lab.exec(h2, ["ip", "link", "set", "eth0", "down"]);
      const down = await lab.waitFor(
        h2,
        (s) => s.hosts.find((x) => x.self)?.state === "fault",
        10_000,
      );
      assert(
        down.hosts.find((x) => x.self)?.fault?.includes('interface "eth0" is down'),
        JSON.stringify(down.hosts),
      );
      await lab.exec(h2, ["ip", "link", "set", "eth0", "up"]);
      await lab.waitConverged(20_000);
      await assertAllServe(lab);

      // Missing at start: the agent runs in the fault state until the interface appears.
      await lab.kill(h2, "SIGTERM");
      await lab.exec(h2, ["ip", "link", "set", "eth0", "down"]);
      await lab.exec(h2, ["ip", "link", "set", "eth0", "name", "eth0x"]);
      await lab.start(h2);
      const missing = await lab.waitFor(
        h2,
        (s) => s.hosts.find((x) => x.self)?.state === "fault",
        10_000,
      );
      assert(
        missing.hosts.find((x) => x.self)?.fault?.includes('interface "eth0" not found'),
        JSON.stringify(missing.hosts),
      );
      await lab.waitFor(h1, (s) => seen(s, h2).share === 0 && s.converged, 10_000);
      await lab.exec(h2, ["ip", "link", "set", "eth0x", "name", "eth0"]);
      await lab.exec(h2, ["ip", "link", "set", "eth0", "up"]);
      await lab.exec(h2, ["ip", "addr", "replace", "198.18.0.12/24", "dev", "eth0"]);
      await lab.waitConverged(20_000);
      await assertAllServe(lab);
    });
  },
});
