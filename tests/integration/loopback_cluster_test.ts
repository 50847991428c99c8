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

/** Builds `hosts` agents, runs `fn`, and removes every process and file afterwards. */
async function withLoopback(
  hosts: number,
  fn: (lab: LoopbackCluster, run: { baseDir: string; subnet: string }) => Promise<void>,
): Promise<void> {
  const baseDir = await Deno.makeTempDir({ prefix: "appliance-it-" });
  const subnet = runSubnet();
  let lab: LoopbackCluster | undefined;
  try {
    lab = await LoopbackCluster.create({ hosts, subnet, baseDir, command: COMMAND });
    await fn(lab, { baseDir, subnet });
  } finally {
    await lab?.cleanup();
    await Deno.remove(baseDir, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name: "three agents converge, and the two survivors reconverge after kill -9 of one",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLoopback(3, async (lab) => {
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
    });
  },
});

Deno.test({
  name: "a drainstop sent to another host through the peer API shows in both hosts' status",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLoopback(2, async (lab) => {
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
    });
  },
});

Deno.test({
  name:
    "join refuses a used, an expired and another cluster's token with the reason; garbage heartbeats are counted",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await withLoopback(2, async (lab, { baseDir, subnet }) => {
      const [h1] = lab.hosts;
      const url = `https://${h1.address}:7947`;
      const join = (token: string, name: string) =>
        lab.cli([
          "join",
          url,
          "--token",
          token,
          "--interface",
          "lo",
          "--address",
          `${subnet}.99`,
          "--name",
          name,
          "--state-dir",
          `${baseDir}/${name}`,
        ]).then(() => "joined", (e: Error) => e.message);

      const token = (ttl: string) =>
        lab.cli(["token", "create", "--ttl", ttl, "--json", "--state-dir", h1.stateDir]).then((
          t,
        ) => JSON.parse(t).token as string);
      const used = await token("1h");
      assertEquals(await join(used, "x1"), "joined");
      assert((await join(used, "x2")).includes("already used"), "a used token is refused");

      const short = await token("1s");
      await new Promise((r) => setTimeout(r, 1100));
      assert((await join(short, "x3")).includes("expired"), "an expired token is refused");

      const other = JSON.parse(
        await lab.cli([
          "init",
          "--cluster-ip",
          "198.18.0.200",
          "--interface",
          "lo",
          "--address",
          `${subnet}.98`,
          "--state-dir",
          `${baseDir}/other`,
          "--json",
        ]),
      ).token as string;
      const wrong = await join(other, "x4");
      assert(wrong.includes("fingerprint") && wrong.includes("another cluster"), wrong);

      // Garbage on the heartbeat port is counted by reason and the agent keeps running.
      const { default: dgram } = await import("node:dgram");
      const sock = dgram.createSocket("udp4");
      await new Promise<void>((r) => sock.bind(0, `${subnet}.97`, () => r()));
      for (let i = 0; i < 50; i++) sock.send(new Uint8Array(i + 1).fill(i), 7946, h1.address);
      await new Promise((r) => setTimeout(r, 300));
      sock.close();
      const { callAgent } = await import("../../agent/control/control_client.ts");
      const stats = await callAgent<{ drops: Record<string, number> }>(
        h1.stateDir,
        "GET",
        "/stats",
      );
      assert(stats.drops.malformed >= 50, JSON.stringify(stats.drops));
      const s = await lab.status(h1);
      assert(s.hosts.some((h) => h.name === "x1"), "the joined host appears in the config");
    });
  },
});
