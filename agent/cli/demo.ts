/**
 * `appliance demo`: a 3-host cluster on this machine with live traffic. As root: network
 * namespaces, one shared cluster IP (198.18.0.10), a client opening a connection every
 * 20 ms, who-served-what every second, and h1's admin panel forwarded to
 * http://127.0.0.1:8080. Ctrl-C removes everything. `--loopback` runs agents on
 * 127.77.0.x instead (no root, no shared IP, no traffic).
 */
import { type Command, COMMON_HELP, intFlag, parseFlags } from "./cli.ts";
import { LoopbackCluster, selfCommand } from "../lab/loopback_cluster.ts";
import { NetnsLab } from "../lab/netns_lab.ts";
import { cleanupStale } from "../lab/lab_runs.ts";
import { startTraffic } from "../lab/traffic.ts";
import { formatStatus } from "./status.ts";
import { CliError } from "./cli.ts";
import { forwardTcpToUnix } from "../lab/forward.ts";

const DEMO_PASSWORD = "appliance-demo";

const HELP = `Usage: appliance demo [--hosts N] [--seconds S] [--loopback]

Builds a cluster of N hosts on this machine and shows it live. As root it uses network
namespaces: the hosts share the cluster IP 198.18.0.10 with no dispatcher in front, a
client opens a new connection every 20 ms, and each second shows which host served how
many; h1's admin panel is forwarded to http://127.0.0.1:8080 (password ${DEMO_PASSWORD}).
Try \`appliance drainstop --host h2 --state-dir DIR/h1\` in another shell, or kill an agent.
Ctrl-C stops the agents and removes every namespace and file the demo created.

Options:
  --hosts N     hosts to run, 2..6 (default 3)
  --seconds S   stop by itself after S seconds (default 600)
  --loopback    no root: agents on 127.77.0.x with the panel on 127.0.0.1:8080, no
                shared cluster IP and no traffic
${COMMON_HELP}`;

export const demoCommand: Command = {
  name: "demo",
  summary: "run a 3-host cluster on this machine with live traffic and the admin panel",
  help: HELP,
  async run(args) {
    const f = parseFlags(this, args, {
      hosts: { type: "string" },
      seconds: { type: "string" },
      loopback: { type: "boolean", default: false },
    });
    if (!f) return 0;
    const n = intFlag("demo", f.values.hosts, "--hosts", 2, 6) ?? 3;
    const seconds = intFlag("demo", f.values.seconds, "--seconds", 1, 86_400) ?? 600;
    if (f.values.loopback) return await loopbackDemo(n, seconds);
    if (Deno.uid() !== 0) {
      throw new CliError(
        "demo needs root: it creates network namespaces and veth pairs (CAP_SYS_ADMIN, " +
          "CAP_NET_ADMIN), nftables rules (CAP_NET_ADMIN) and raw ARP sockets (CAP_NET_RAW). " +
          "Run: sudo node_modules/.bin/deno task demo — or `appliance demo --loopback` without root",
      );
    }
    return await namespaceDemo(n, seconds);
  },
};

async function namespaceDemo(n: number, seconds: number): Promise<number> {
  await cleanupStale().catch(() => {});
  const baseDir = await Deno.makeTempDir({ prefix: "appliance-demo-" });
  let stop = false;
  const onSignal = () => (stop = true);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  let lab: NetnsLab | undefined;
  let forward: { close(): void } | undefined;
  let traffic: ReturnType<typeof startTraffic> | undefined;
  try {
    console.log(
      `demo: building ${n} hosts and a client in network namespaces (state in ${baseDir})`,
    );
    // h1 exports this directory: edit it and watch the Replication page.
    const content = `${baseDir}/content-source`;
    await Deno.mkdir(content);
    await Deno.writeTextFile(`${content}/index.html`, "<h1>appliance demo</h1>\n");
    lab = await NetnsLab.create({
      hosts: n,
      clients: 1,
      command: selfCommand(),
      runner: [...selfCommand(), "_lab"],
      baseDir,
      initArgs: ["--content-source", content],
      runArgs: (
        h,
      ) => ["--panel", h.name === "h1" ? `unix:${h.stateDir}/panel.sock,@:8080` : "@:8080"],
      log: (l) => console.log(`demo: ${l}`),
    });
    const h1 = lab.hosts[0];
    await lab.waitConverged(30_000);
    const pw = `${baseDir}/admin-password`;
    await Deno.writeTextFile(pw, DEMO_PASSWORD, { mode: 0o600 });
    await lab.cli(h1, ["passwd", "--password-file", pw, "--state-dir", h1.stateDir]);
    // One client: spread its connections by source port rather than by client address.
    await lab.cli(h1, [
      "rules",
      "set",
      "default",
      "--affinity",
      "none",
      "--state-dir",
      h1.stateDir,
    ]);
    await lab.waitConverged(10_000);
    forward = await forwardTcpToUnix(
      { hostname: "127.0.0.1", port: 8080 },
      `${h1.stateDir}/panel.sock`,
    ).catch(
      (e) => {
        console.log(`demo: cannot forward the panel to 127.0.0.1:8080: ${(e as Error).message}`);
        return undefined;
      },
    );
    console.log(`demo: converged. Admin panel: http://127.0.0.1:8080 (password ${DEMO_PASSWORD})`);
    console.log(`demo: in another shell: appliance status --state-dir ${h1.stateDir}`);
    console.log(`demo:                   appliance drainstop --host h2 --state-dir ${h1.stateDir}`);
    console.log(`demo: replicated content: edit ${content}, then`);
    console.log(`demo:                   appliance replication status --state-dir ${h1.stateDir}`);
    const counts = new Map<string, number>();
    let failed = 0;
    traffic = startTraffic(lab, lab.clients[0], {
      target: `${lab.clusterIp}:80`,
      rateMs: 20,
      count: Math.ceil((seconds * 1000) / 20),
      durationMs: seconds * 1000,
      timeoutMs: 1000,
      onResult: (r) => {
        if (r.ok && r.host) counts.set(r.host, (counts.get(r.host) ?? 0) + 1);
        else failed++;
      },
    });
    const until = Date.now() + seconds * 1000;
    while (!stop && Date.now() < until) {
      for (let i = 0; i < 10 && !stop; i++) await new Promise((r) => setTimeout(r, 100));
      const served = [...counts.entries()].sort().map(([h, c]) => `${h} ${c}`).join("  ");
      console.log(
        `\ntraffic to ${lab.clusterIp} in the last second: ${served || "none"}  failed ${failed}`,
      );
      counts.clear();
      failed = 0;
      const s = await lab.status(h1).catch((e) => e as Error);
      console.log(s instanceof Error ? `demo: ${s.message}` : formatStatus(s));
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    console.log("demo: stopping agents and removing the namespaces");
    traffic?.stop();
    forward?.close();
    await lab?.destroy();
    await Deno.remove(baseDir, { recursive: true }).catch(() => {});
  }
  return 0;
}

async function loopbackDemo(n: number, seconds: number): Promise<number> {
  const baseDir = await Deno.makeTempDir({ prefix: "appliance-demo-" });
  console.log(`demo: starting ${n} agents on 127.77.0.11-${10 + n} (state in ${baseDir})`);
  let lab: LoopbackCluster | undefined;
  let stop = false;
  const onSignal = () => (stop = true);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    lab = await LoopbackCluster.create({
      hosts: n,
      subnet: "127.77.0",
      baseDir,
      command: selfCommand(),
      panel: (h) => (h.name === "h1" ? "127.0.0.1:8080" : "off"),
      adminPassword: DEMO_PASSWORD,
      log: (l) => console.log(`demo: ${l}`),
    });
    await lab.waitConverged();
    console.log(`demo: converged. Admin panel: http://127.0.0.1:8080 (password ${DEMO_PASSWORD})`);
    console.log(`demo: try: appliance drainstop --host h2 --state-dir ${baseDir}/h1`);
    const until = Date.now() + seconds * 1000;
    while (!stop && Date.now() < until) {
      const s = await lab.status(lab.hosts[0]).catch((e) => e as Error);
      console.log(s instanceof Error ? `demo: ${s.message}` : `\n${formatStatus(s)}`);
      for (let i = 0; i < 10 && !stop; i++) await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    console.log("demo: stopping agents and removing state");
    if (lab) await lab.cleanup();
    else await Deno.remove(baseDir, { recursive: true }).catch(() => {});
  }
  return 0;
}
