/**
 * The namespace lab itself (needs root): two agents in their own namespaces converge on a
 * bridge, a client namespace reaches each host's web backend, faults behave, and destroy()
 * (also after a failed create()) leaves no namespace, process or directory behind.
 * Does not use the cluster IP: the dataplane is not part of the lab.
 */
import assert from "node:assert/strict";
import {
  cleanupStale,
  markerPath,
  NetnsLab,
  type NetnsLabOptions,
  newPrefix,
} from "../../../agent/lab/netns_lab.ts";
import { startTraffic, type TrafficHandle } from "../../../agent/lab/traffic.ts";
import { addNetns, delNetns, listNetns } from "../../../agent/lab/_netns.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;
const COMMAND = [Deno.execPath(), "run", "-A", `${ROOT}main.ts`];
const ignore = Deno.uid() !== 0;
const opts = { ignore, sanitizeResources: false, sanitizeOps: false };

async function ours(prefix: string): Promise<string[]> {
  return (await listNetns()).filter((n) => n.startsWith(prefix));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Builds a lab, runs fn, prints the agents' logs if it throws, always destroys. */
async function withLab(
  o: Partial<NetnsLabOptions>,
  fn: (lab: NetnsLab) => Promise<void>,
): Promise<{ prefix: string; baseDir: string }> {
  const baseDir = await Deno.makeTempDir({ prefix: "appliance-netns-" });
  const prefix = newPrefix();
  let lab: NetnsLab | undefined;
  try {
    lab = await NetnsLab.create({ hosts: 2, command: COMMAND, baseDir, prefix, ...o });
    await fn(lab);
  } catch (e) {
    for (const h of lab?.hosts ?? []) {
      console.error(`--- ${h.name} agent log ---\n${await lab!.agentLog(h)}`);
    }
    throw e;
  } finally {
    await lab?.destroy();
    await Deno.remove(baseDir, { recursive: true }).catch(() => {});
  }
  return { prefix, baseDir };
}

Deno.test({
  name: "NetnsLab: two agents converge, a client reaches each backend, destroy() removes all",
  ...opts,
  async fn() {
    let leftover: TrafficHandle | undefined;
    const { prefix, baseDir } = await withLab({ clients: 1 }, async (lab) => {
      assert.deepEqual(
        (await ours(lab.prefix)).sort(),
        ["br", "c1", "h1", "h2"].map((n) => lab.prefix + n),
      );
      assert.ok(exists(markerPath(lab.prefix)));
      await lab.waitConverged(20_000);
      const s = await lab.status(lab.host("h1"));
      assert.deepEqual(s.hosts.map((h) => [h.name, h.address]), [
        ["h1", "198.18.0.11"],
        ["h2", "198.18.0.12"],
      ]);
      assert.equal(s.clusterIp, "198.18.0.10");
      for (const h of lab.hosts) {
        const traffic = startTraffic(lab, lab.clients[0], {
          target: `${h.address}:80`,
          rateMs: 20,
          count: 5,
          durationMs: 10_000,
        });
        const results = await traffic.done;
        assert.equal(results.length, 5, JSON.stringify(results));
        assert.ok(results.every((r) => r.ok && r.host === h.name), JSON.stringify(results));
      }
      // A long run stops on demand, with every result so far.
      const long = startTraffic(lab, lab.clients[0], { target: "198.18.0.12:80", rateMs: 10 });
      assert.ok(Math.abs(Date.now() - await long.started) < 10_000);
      for (let i = 0; i < 500 && long.results.length < 10; i++) await sleep(10);
      const all = await long.stop();
      assert.ok(all.length >= 10 && all.every((r) => r.host === "h2"), JSON.stringify(all));
      // One left running: destroy() stops it.
      leftover = startTraffic(lab, lab.clients[0], { target: "198.18.0.11:80", rateMs: 10 });
      await leftover.started;
      // The bridge namespace is the only link between them: the root one has no lab link.
      const rootLinks = await new Deno.Command("ip", { args: ["-o", "link"], stdout: "piped" })
        .output();
      assert.doesNotMatch(new TextDecoder().decode(rootLinks.stdout), /\bv[hc]\d+@/);
    });
    assert.deepEqual(await ours(prefix), []);
    assert.ok(!exists(baseDir), `${baseDir} is left`);
    assert.ok(!exists(markerPath(prefix)), "the marker is left");
    const t0 = Date.now();
    await leftover!.done;
    assert.ok(Date.now() - t0 < 100, "destroy() left the traffic generator running");
  },
});

Deno.test({
  name: "NetnsLab: link down, SIGSTOP, SIGKILL and restart, and a stopped backend",
  ...opts,
  async fn() {
    await withLab({ clients: 1 }, async (lab) => {
      const [h1, h2] = lab.hosts;
      const c1 = lab.clients[0];
      await lab.waitConverged(20_000);
      const h2Seen = (state: string) => (s: { hosts: { name: string; state: string }[] }) =>
        s.hosts.find((x) => x.name === "h2")?.state === state;

      await lab.linkDown(h2);
      await lab.waitFor(h1, h2Seen("unreachable"), 10_000);
      await lab.waitConverged(10_000); // h1 alone
      await lab.linkUp(h2);
      await lab.waitConverged(15_000, [h1, h2]);

      await lab.kill(h2, "SIGSTOP");
      await lab.waitFor(h1, h2Seen("unreachable"), 10_000);
      await lab.kill(h2, "SIGCONT");
      await lab.waitConverged(15_000);

      const pid = h2.agent!.pid;
      await lab.kill(h2, "SIGKILL");
      assert.equal(h2.agent, undefined);
      await lab.waitConverged(10_000);
      await lab.restart(h2);
      assert.notEqual(h2.agent!.pid, pid);
      await lab.waitConverged(15_000);
      assert.match(await lab.agentLog(h2), /agent "h2" running/);

      await lab.stopBackend(h1);
      const down = await startTraffic(lab, c1, {
        target: "198.18.0.11:80",
        count: 2,
        rateMs: 20,
        durationMs: 5000,
      }).done;
      assert.deepEqual(down.map((r) => r.error), ["refused", "refused"]);
      await lab.startBackend(h1);
      const up = await startTraffic(lab, c1, {
        target: "198.18.0.11:80",
        count: 2,
        rateMs: 20,
        durationMs: 5000,
      }).done;
      assert.deepEqual(up.map((r) => r.host), ["h1", "h1"]);
    });
  },
});

Deno.test({
  name: "NetnsLab.create() that fails removes what it created",
  ...opts,
  async fn() {
    const baseDir = await Deno.makeTempDir({ prefix: "appliance-netns-" });
    const prefix = newPrefix();
    await assert.rejects(
      NetnsLab.create({ hosts: 2, command: ["/bin/false"], baseDir, prefix }),
      /appliance init on h1 failed/,
    );
    assert.deepEqual(await ours(prefix), []);
    assert.ok(!exists(baseDir), `${baseDir} is left`);
    assert.ok(!exists(markerPath(prefix)), "the marker is left");
  },
});

Deno.test({
  name: "NetnsLab.create() refuses bad options before creating anything",
  ...opts,
  async fn() {
    const prefix = newPrefix();
    const o = { hosts: 2, command: COMMAND, baseDir: "/nonexistent/appliance-lab", prefix };
    await assert.rejects(NetnsLab.create({ ...o, hosts: 9 }), /hosts must be 1..8/);
    await assert.rejects(NetnsLab.create({ ...o, clusterIp: "10.0.0.1" }), /clusterIp/);
    await assert.rejects(NetnsLab.create({ ...o, clusterIp: "198.18.0.12" }), /clusterIp/);
    await assert.rejects(NetnsLab.create({ ...o, prefix: "x" }), /prefix "x"/);
    assert.deepEqual(await ours(prefix), []);
  },
});

Deno.test({
  name: "cleanupStale() removes a dead run's namespaces and keeps a live run's",
  ...opts,
  async fn() {
    const dead = newPrefix();
    const live = newPrefix();
    try {
      await Deno.mkdir("/run/appliance-lab", { recursive: true });
      await addNetns(`${dead}h1`);
      await Deno.writeTextFile(markerPath(dead), JSON.stringify({ pid: 2 ** 30, start: "0" }));
      await addNetns(`${live}h1`);
      const start = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ")[19];
      await Deno.writeTextFile(markerPath(live), JSON.stringify({ pid: Deno.pid, start }));
      const removed = await cleanupStale();
      assert.ok(removed.includes(`${dead}h1`), JSON.stringify(removed));
      assert.ok(!removed.includes(`${live}h1`));
      assert.deepEqual(await ours(dead), []);
      assert.ok(!exists(markerPath(dead)));
      assert.deepEqual(await ours(live), [`${live}h1`]);
    } finally {
      for (const p of [dead, live]) {
        await delNetns(`${p}h1`);
        await Deno.remove(markerPath(p)).catch(() => {});
      }
    }
  },
});
