/**
 * `appliance run`: the agent, in the foreground, until SIGINT or SIGTERM, which bow out
 * (a final heartbeat) so peers converge at once.
 */
import { CliError, type Command, COMMON_HELP, parseFlags, UsageError } from "./cli.ts";
import { loadMembership, openStateDir } from "../state_dir.ts";
import type { RunningAgent } from "../agent.ts";
import type { Membership, StateDir } from "../state_dir.ts";

const HELP = `Usage: appliance run [options]

Runs this host's agent in the foreground: heartbeats, convergence, the peer API on the
host's address, the admin panel and the control socket for the other commands. SIGINT or
SIGTERM stops it cleanly with a bow-out, so the other hosts converge at once.

Options:
  --panel LIST   where the admin panel listens: comma-separated ADDRESS:PORT, "@" for
                 this host's address (HTTPS there; plain HTTP on loopback), or "off"
                 (default 127.0.0.1:8080,@:8080)
  --dataplane M  auto, on or off: the shared cluster IP (ARP, nftables, addresses) on
                 the cluster interface; auto turns it on unless the interface is lo
                 (default auto; needs root)
${COMMON_HELP}`;

export const DEFAULT_PANEL = "127.0.0.1:8080,@:8080";

export interface RunOptions {
  /** --panel, as given. */
  panel: string;
  /** --dataplane: auto (on unless the interface is lo), on, off. */
  dataplane: "auto" | "on" | "off";
}

/** Builds the real adapters and starts the agent: supplied by main.ts (composition root). */
export type AgentFactory = (
  state: StateDir,
  membership: Membership,
  options: RunOptions,
) => Promise<RunningAgent>;

export function runCommand(start: AgentFactory): Command {
  return {
    name: "run",
    summary: "run this host's agent in the foreground",
    help: HELP,
    async run(args) {
      const f = parseFlags(this, args, {
        panel: { type: "string", default: DEFAULT_PANEL },
        dataplane: { type: "string", default: "auto" },
      });
      if (!f) return 0;
      const dataplane = f.values.dataplane as RunOptions["dataplane"];
      if (!["auto", "on", "off"].includes(dataplane)) {
        throw new UsageError(`run: --dataplane must be auto, on or off, got "${dataplane}"`);
      }
      const state = openStateDir(f.values["state-dir"] as string, { create: false });
      let agent: RunningAgent;
      try {
        agent = await start(state, loadMembership(state), {
          panel: f.values.panel as string,
          dataplane,
        });
      } catch (e) {
        state.close();
        throw new CliError(`run: ${(e as Error).message}`);
      }
      const m = agent.driver.state.config;
      const me = m.hosts.find((h) => h.id === agent.driver.state.selfId)!;
      console.error(
        `appliance: agent "${me.name}" running (${me.address}, cluster ${m.clusterId}, cluster IP ${m.clusterIp}, ` +
          `${m.hosts.length} host(s)); Ctrl-C to stop`,
      );
      for (const f of agent.panelFailed) {
        console.error(`appliance: the admin panel cannot listen on ${f}`);
      }
      await new Promise<void>((resolve) => {
        const stop = () => {
          Deno.removeSignalListener("SIGINT", stop);
          Deno.removeSignalListener("SIGTERM", stop);
          resolve();
        };
        Deno.addSignalListener("SIGINT", stop);
        Deno.addSignalListener("SIGTERM", stop);
      });
      console.error("appliance: stopping (bow-out sent)");
      await agent.stop();
      state.close();
      return 0;
    },
  };
}
