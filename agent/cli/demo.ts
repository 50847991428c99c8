/**
 * `appliance demo`: a 3-host cluster on this machine, showing convergence live.
 * (Loopback agents for now: the namespace lab with a shared cluster IP and client traffic
 * replaces it when the dataplane lands.)
 */
import { type Command, COMMON_HELP, intFlag, parseFlags } from "./cli.ts";
import { LoopbackCluster, selfCommand } from "../lab/loopback_cluster.ts";
import { formatStatus } from "./status.ts";

const DEMO_PASSWORD = "appliance-demo";

const HELP = `Usage: appliance demo [--hosts N] [--seconds S]

Builds a cluster of N hosts on loopback addresses (127.77.0.11, .12, ...), each a real
agent with its own state dir under a temporary directory, and shows the cluster's state
every second. Ctrl-C stops the agents and removes everything the demo created.

Options:
  --hosts N     hosts to run, 2..8 (default 3)
  --seconds S   stop by itself after S seconds (default: run until Ctrl-C)
${COMMON_HELP}`;

export const demoCommand: Command = {
  name: "demo",
  summary: "run a 3-host cluster on this machine and show it live",
  help: HELP,
  async run(args) {
    const f = parseFlags(this, args, { hosts: { type: "string" }, seconds: { type: "string" } });
    if (!f) return 0;
    const n = intFlag("demo", f.values.hosts, "--hosts", 2, 8) ?? 3;
    const seconds = intFlag("demo", f.values.seconds, "--seconds", 1, 86_400);
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
      console.log(
        `demo: converged. Admin panel: http://127.0.0.1:8080 (password: ${DEMO_PASSWORD})`,
      );
      console.log("demo: try in another shell:");
      console.log(`  appliance status --state-dir ${baseDir}/h1`);
      console.log(`  appliance drainstop --host h2 --state-dir ${baseDir}/h1`);
      console.log(`  appliance events --follow --state-dir ${baseDir}/h1`);
      const until = seconds ? Date.now() + seconds * 1000 : Infinity;
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
  },
};
