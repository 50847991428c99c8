/**
 * Namespace labs for `bench:failover` and `bench:throughput`: a converged web farm whose
 * default rule shares load by client address AND port (affinity none), so one client's
 * connections spread over every host; config edits that wait until every host runs them;
 * and the hosts' nftables counters.
 */
import { type LabNode, NetnsLab } from "../../agent/lab/netns_lab.ts";
import { startTraffic } from "../../agent/lab/traffic.ts";
import { failedCount, hostCounts } from "../../agent/lab/outage.ts";
import { clusterMac } from "../../agent/dataplane/cluster_mac.ts";
import { machineTicks } from "./_tp_load.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
export const APPLIANCE = [Deno.execPath(), "run", "-A", MAIN];

export interface FarmOptions {
  hosts: number;
  clients?: number;
  /** `config set` pairs applied on h1 before the others join, e.g. drainTimeoutMs=2000. */
  settings?: string[];
  backendCpuMs?: number;
  log?: (line: string) => void;
}

/** A converged farm with affinity none on the default rule. The caller destroys it. */
export async function createFarm(o: FarmOptions): Promise<NetnsLab> {
  const baseDir = await Deno.makeTempDir({ prefix: "appliance-bench-netns-" });
  // create() removes baseDir with everything else when it fails.
  const lab = await NetnsLab.create({ ...o, baseDir, command: APPLIANCE });
  try {
    await lab.waitConverged(20_000);
    await editConfig(lab, ["rules", "set", "default", "--affinity", "none"]);
    return lab;
  } catch (e) {
    await lab.destroy();
    throw e;
  }
}

/**
 * Runs a config-editing command (`rules set …`, `config set …`) on the first live host and
 * waits until every live host runs the new version and is converged again.
 */
export async function editConfig(lab: NetnsLab, args: string[], timeoutMs = 15_000) {
  const live = lab.hosts.filter((h) => h.agent && !h.paused && h.linkUp);
  const first = live[0];
  const out = await lab.cli(first, [...args, "--json", "--state-dir", first.stateDir]);
  const version = (JSON.parse(out) as { version: number }).version;
  for (const h of live) {
    await lab.waitFor(h, (s) => s.configVersion >= version && s.converged, timeoutMs);
  }
  await lab.waitConverged(timeoutMs, live);
}

/**
 * Whose MAC the client's neighbour entry for the cluster IP holds: "cluster" (the shared
 * multicast MAC, as it should), a host's name (that host alone gets every frame), or "none".
 */
export async function clientNeighbour(lab: NetnsLab, c: LabNode): Promise<string> {
  const out = await lab.exec(c, ["ip", "neigh", "show", lab.clusterIp, "dev", "eth0"]);
  const mac = /lladdr (\S+)/.exec(out)?.[1]?.toLowerCase();
  if (!mac) return `none (${out.trim() || "no entry"})`;
  if (mac === clusterMac(lab.clusterIp)) return "cluster";
  for (const h of lab.hosts) {
    const own = await lab.exec(h, ["cat", "/sys/class/net/eth0/address"]).catch(() => "");
    if (own.trim().toLowerCase() === mac) return h.name;
  }
  return mac;
}

/**
 * A client that resolves the cluster IP afresh: flushes c's neighbour entry, sends `count`
 * requests, 10 ms apart, and tells who answered and whose MAC it learnt.
 */
export async function newClientProbe(lab: NetnsLab, c: LabNode, count = 30) {
  await lab.exec(c, ["ip", "neigh", "flush", "to", lab.clusterIp, "dev", "eth0"]);
  const results = await startTraffic(lab, c, {
    rateMs: 10,
    timeoutMs: 1000,
    count,
    durationMs: count * 10 + 100,
  }).done;
  return {
    neighbour: await clientNeighbour(lab, c),
    served: hostCounts(results),
    failed: failedCount(results),
  };
}

/** Cores kept busy over `ms` by whatever runs on the machine (e.g. before the lab exists). */
export async function busyCores(ms = 1000): Promise<number> {
  const a = machineTicks();
  await new Promise((r) => setTimeout(r, ms));
  const b = machineTicks();
  const share = (b.busy - a.busy) / Math.max(1, b.total - a.total);
  return Math.round(share * navigator.hardwareConcurrency * 100) / 100;
}
