/** Loopback clusters for the benchmarks: creation, "every host agrees", and driver stats. */
import { type LabHost, LoopbackCluster } from "../../agent/lab/loopback_cluster.ts";
import { callAgent } from "../../agent/control/control_client.ts";
import type { ClusterStatus } from "../../agent/cluster/status.ts";
import type { StepStats } from "../../agent/driver.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/**
 * The agent as shipped: `deno task compile` bakes this V8 flag into the binary (and the
 * bundle's header asks for it), so the benchmarks measure the same process.
 */
export const APPLIANCE = [
  Deno.execPath(),
  "run",
  "-A",
  "--v8-flags=--max-semi-space-size=2",
  MAIN,
];

export async function createLab(hosts: number, subnet: string): Promise<LoopbackCluster> {
  const baseDir = await Deno.makeTempDir({ prefix: "appliance-bench-" });
  try {
    return await LoopbackCluster.create({ hosts, subnet, baseDir, command: APPLIANCE });
  } catch (e) {
    await Deno.remove(baseDir, { recursive: true }).catch(() => {});
    throw e;
  }
}

/** A /24 in 127/8: the given second octet, a random third one. */
export function subnet(second: number): string {
  return `127.${second}.${1 + Math.floor(Math.random() * 250)}`;
}

/** Converged, and every host `names` lists reports itself converged (no one still catching up). */
export function allConverged(names: string[]): (s: ClusterStatus) => boolean {
  const want = [...names].sort().join(",");
  return (s) =>
    s.converged &&
    s.hosts.filter((h) => h.state !== "unreachable").map((h) => h.name).sort().join(",") ===
      want &&
    s.hosts.every((h) => h.state === "converged" || h.state === "unreachable");
}

/** Waits until each of `hosts` sees exactly `hosts`, all converged. */
export async function waitAllConverged(
  lab: LoopbackCluster,
  hosts: LabHost[],
  timeoutMs: number,
): Promise<void> {
  const ok = allConverged(hosts.map((h) => h.name));
  for (const h of hosts) await lab.waitFor(h, ok, timeoutMs);
}

export type AgentStats = StepStats & { drops: Record<string, number> };

export function agentStats(h: LabHost): Promise<AgentStats> {
  return callAgent<AgentStats>(h.stateDir, "GET", "/stats", undefined, 2000);
}

/** Sums of packets and step() time over agents, for a mean per heartbeat. */
export class StatsTotal {
  agents = 0;
  packets = 0;
  packetMs = 0;
  worstPacketMs = 0;

  add(s: Pick<StepStats, "packets" | "packetMs" | "worstPacketMs">): void {
    this.agents++;
    this.packets += s.packets;
    this.packetMs += s.packetMs;
    this.worstPacketMs = Math.max(this.worstPacketMs, s.worstPacketMs);
  }

  meanUs(): number | null {
    return this.packets === 0 ? null : (this.packetMs / this.packets) * 1000;
  }
}
