/**
 * appliance: a Linux web-farm cluster in one program. CLI and composition root: the only
 * place real adapters are chosen.
 */
import { CliError, type Command, UsageError } from "./agent/cli/cli.ts";
import { initCommand } from "./agent/cli/init.ts";
import { joinCommand } from "./agent/cli/join.ts";
import { runCommand } from "./agent/cli/run.ts";
import { statusCommand } from "./agent/cli/status.ts";
import { hostCommand } from "./agent/cli/host_commands.ts";
import { eventsCommand } from "./agent/cli/events.ts";
import { tokenCommand } from "./agent/cli/token.ts";
import { rulesCommand } from "./agent/cli/rules.ts";
import { configCommand } from "./agent/cli/config_cmd.ts";
import { replicationCommand } from "./agent/cli/replication_cmd.ts";
import { demoCommand } from "./agent/cli/demo.ts";
import { AgentNotRunning } from "./agent/control/control_client.ts";
import { StateError } from "./db/state_error.ts";
import { startAgent } from "./agent/agent.ts";
import { SystemClock } from "./agent/adapters/system_clock.ts";
import { UdpTransport } from "./agent/adapters/udp_transport.ts";
import { PolledUdpTransport } from "./agent/adapters/polled_udp_transport.ts";
import { ffiAllowed } from "./agent/dataplane/libc.ts";
import type { Transport } from "./agent/ports.ts";
import { HttpsPeerClient } from "./agent/adapters/https_peer_client.ts";
import { RecordingRuleApplier } from "./agent/adapters/recording_rule_applier.ts";
import type { AgentFactory } from "./agent/cli/run.ts";
import { parsePanelListen } from "./agent/panel_server.ts";
import { loadAssets } from "./web/assets.ts";
import { passwdCommand } from "./agent/cli/passwd.ts";
import { HostDataplane, systemHostCommands } from "./agent/dataplane/host_dataplane.ts";
import { Libnftables } from "./agent/dataplane/libnftables.ts";
import { NftRuleApplier } from "./agent/dataplane/nft_rule_applier.ts";
import { PacketArpResponder } from "./agent/dataplane/arp_responder.ts";
import type { Membership, StateDir } from "./agent/state_dir.ts";
import type { ClusterConfig } from "./agent/cluster/config.ts";

/** The real dataplane: nftables through libnftables, ARP on an AF_PACKET socket, `ip`. */
async function startHostDataplane(
  state: StateDir,
  m: Membership,
  config: () => ClusterConfig,
): Promise<HostDataplane> {
  if (Deno.uid() !== 0) {
    throw new CliError(
      "the dataplane needs root (CAP_NET_ADMIN for addresses and nftables, CAP_NET_RAW for ARP): " +
        "run as root, or pass --dataplane off to run the cluster core only",
    );
  }
  const iface = m.identity.interface;
  const nft = Libnftables.open();
  const log = (level: "info" | "warn" | "error", kind: string, message: string) =>
    state.events.append({ ts: Date.now(), host: m.identity.name, level, kind, message });
  const dp = new HostDataplane({
    iface,
    config,
    nft,
    rules: new NftRuleApplier({ runner: nft, config, iface }),
    arp: new PacketArpResponder({ iface, ip: m.config.clusterIp, mode: m.config.mode }),
    host: systemHostCommands,
    log,
  });
  // A missing or down interface is a fault state, not a refusal: the watch starts the
  // dataplane when the interface is usable. Any other problem (a used cluster IP) refuses.
  if (dp.usable()) await dp.start();
  return dp;
}

/**
 * The heartbeat socket: read from a timer through libc where FFI is allowed (a busy event
 * loop delivers node:dgram's datagrams late: polled_udp_transport.ts), else node:dgram.
 */
async function bindTransport(address: string, port: number): Promise<Transport> {
  if (ffiAllowed()) {
    return PolledUdpTransport.bind(address, port);
  }
  return await UdpTransport.bind(address, port);
}

const startRealAgent: AgentFactory = async (state, m, options) => {
  const listen = parsePanelListen(options.panel, m.identity.address);
  if (typeof listen === "string") throw new UsageError(`run: --panel ${listen}`);
  const dataplaneOn = options.dataplane === "on" ||
    (options.dataplane === "auto" && m.identity.interface !== "lo");
  let config = () => m.config;
  const rules = dataplaneOn
    ? await startHostDataplane(state, m, () => config())
    : new RecordingRuleApplier();
  const transport = await bindTransport(m.identity.address, m.config.heartbeat.port);
  const peers = new HttpsPeerClient({
    caPem: m.caCert,
    key: m.key,
    selfId: m.identity.hostId,
    port: m.config.peerPort,
  });
  try {
    const agent = await startAgent({
      state,
      membership: m,
      clock: new SystemClock(),
      transport,
      rules,
      peers,
      panel: { listen, assets: await loadAssets() },
    });
    config = () => agent.driver.state.config;
    return agent;
  } catch (e) {
    await transport.close();
    peers.close();
    await rules.clear();
    throw e;
  }
};

export const COMMANDS: Command[] = [
  initCommand,
  joinCommand,
  runCommand(startRealAgent),
  statusCommand,
  eventsCommand,
  hostCommand("drainstop"),
  hostCommand("stop"),
  hostCommand("start"),
  hostCommand("suspend"),
  hostCommand("resume"),
  rulesCommand,
  configCommand,
  replicationCommand,
  tokenCommand,
  passwdCommand,
  demoCommand,
];

function usage(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "Usage: appliance <command> [options]",
    "",
    "A web-farm cluster: hosts share one cluster IP, split connections, take over a failed",
    "host's share in under a second, and keep their web content identical.",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    "",
    "Run `appliance <command> --help` for a command's options.",
  ].join("\n");
}

/**
 * The lab's helper programs, reachable through this program so the demo also runs from
 * dist/appliance.js: `appliance _lab <script path> ARGS` (not listed in the help).
 */
async function labScript([script, ...args]: string[]): Promise<number> {
  const base = script?.split("/").pop();
  if (base === "web_backend.ts") return (await import("./agent/lab/web_backend.ts")).main(args);
  if (base === "traffic.ts") return (await import("./agent/lab/traffic.ts")).main(args);
  console.error(`appliance _lab: unknown lab script "${script}"`);
  return 2;
}

export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === "_lab") return await labScript(rest);
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`appliance: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`appliance ${e.message}\n(see: appliance ${name} --help)`);
      return 2;
    }
    if (e instanceof CliError || e instanceof StateError || e instanceof AgentNotRunning) {
      console.error(`appliance: ${e.message}`);
      return 1;
    }
    if (Deno.env.get("APPLIANCE_DEBUG")) console.error(e);
    console.error(`appliance ${name}: ${(e as Error)?.message ?? e}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
