/**
 * Three real `appliance run` processes (init, join, join) on loopback addresses converge;
 * kill -9 of one makes the other two reconverge; status and events show it. A clean stop
 * (SIGTERM) bows out and the survivors converge without waiting for the timeout.
 */
import { LoopbackCluster } from "../../agent/lab/loopback_cluster.ts";
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url).pathname;
const COMMAND = [Deno.execPath(), "run", "-A", `${ROOT}main.ts`];

/** A /24 in 127/8 unique to this run, so parallel runs on one machine do not collide. */
function runSubnet(): string {
  return `127.${100 + (Deno.pid % 100)}.${Math.floor(Math.random() * 250) + 1}`;
}

Deno.test({
  name: "three agents converge, and the two survivors reconverge after kill -9 of one",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const baseDir = await Deno.makeTempDir({ prefix: "appliance-it-" });
    let lab: LoopbackCluster | undefined;
    try {
      lab = await LoopbackCluster.create({
        hosts: 3,
        subnet: runSubnet(),
        baseDir,
        command: COMMAND,
      });
      await lab.waitConverged(15_000);
      const [h1, h2, h3] = lab.hosts;
      // Peers' states come from their heartbeats: wait for the ones sent on converging.
      const before = await lab.waitFor(
        h1,
        (s) => s.hosts.every((h) => h.state === "converged"),
        2_000,
      );
      const shares = before.hosts.map((h) => h.share);
      assert(shares.every((s) => Math.abs(s - 1 / 3) < 0.01), `shares ${shares}`);

      await lab.kill(h3, "SIGKILL");
      await lab.waitConverged(10_000);
      for (const h of [h1, h2]) {
        const s = await lab.status(h);
        assertEquals(s.hosts.find((x) => x.name === "h3")?.state, "unreachable");
        assertEquals(s.hosts.filter((x) => x.state === "converged").length, 2);
        assert(s.epoch > before.epoch, "the epoch moved on");
        assertEquals(s.hosts.find((x) => x.name === "h3")?.share, 0);
      }
      const events = JSON.parse(
        await lab.cli(["events", "--json", "--kind", "peer.down", "--state-dir", h1.stateDir]),
      ) as { message: string }[];
      assert(
        events.some((e) => /host h3 is down: missed \d+ heartbeats/.test(e.message)),
        JSON.stringify(events),
      );

      // A clean stop bows out: h1 sees "left the cluster", not a timeout.
      await lab.kill(h2, "SIGTERM");
      await lab.waitConverged(2_000);
      const text = await lab.cli(["events", "--kind", "peer.down", "--state-dir", h1.stateDir]);
      assert(text.includes("host h2 is down: left the cluster (bow-out)"), text);
    } finally {
      await lab?.cleanup();
      await Deno.remove(baseDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "a drainstop sent to another host through the peer API shows in both hosts' status",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const baseDir = await Deno.makeTempDir({ prefix: "appliance-it-" });
    let lab: LoopbackCluster | undefined;
    try {
      lab = await LoopbackCluster.create({
        hosts: 2,
        subnet: runSubnet(),
        baseDir,
        command: COMMAND,
      });
      await lab.waitConverged(15_000);
      const [h1, h2] = lab.hosts;
      await lab.cli(["drainstop", "--host", "h2", "--state-dir", h1.stateDir]);
      await lab.waitFor(
        h1,
        (s) => s.hosts.find((x) => x.name === "h2")?.state === "draining",
        5_000,
      );
      const s2 = await lab.waitFor(
        h2,
        (s) => s.hosts.find((x) => x.self)?.state === "draining",
        5_000,
      );
      assertEquals(s2.hosts.find((x) => x.name === "h1")?.share, 1);
      await lab.cli(["start", "--host", "h2", "--state-dir", h1.stateDir]);
      await lab.waitConverged(5_000);
      const s1 = await lab.status(h1);
      assertEquals(s1.hosts.map((h) => h.share), [0.5, 0.5]);
    } finally {
      await lab?.cleanup();
      await Deno.remove(baseDir, { recursive: true }).catch(() => {});
    }
  },
});
