/** `appliance status`: the cluster as this host sees it (like NLB's `wlbs query`). */
import { type Command, COMMON_HELP, parseFlags, printJson, table } from "./cli.ts";
import { callAgent } from "../control/control_client.ts";
import type { ClusterStatus } from "../cluster/status.ts";

const HELP = `Usage: appliance status [--json]

Shows every host (id, name, address, priority, weight, state, heartbeat age, share of
buckets) and the cluster (epoch, converged, last convergence and its duration), as the
local agent sees them. States: converging, converged, draining, stopped, suspended,
unreachable.

${COMMON_HELP}`;

export const statusCommand: Command = {
  name: "status",
  summary: "show the cluster's hosts and convergence",
  help: HELP,
  async run(args) {
    const f = parseFlags(this, args, {});
    if (!f) return 0;
    const s = await callAgent<ClusterStatus>(f.values["state-dir"] as string, "GET", "/status");
    if (f.values.json) {
      printJson(s);
      return 0;
    }
    console.log(formatStatus(s));
    return 0;
  },
};

export function formatStatus(s: ClusterStatus): string {
  const lc = s.lastConvergence;
  const head = [
    `cluster ${s.clusterId}  ip ${s.clusterIp}  mode ${s.mode}  config v${s.configVersion}`,
    `epoch ${s.epoch}  ${s.converged ? "converged" : "CONVERGING"}` +
    (lc ? `  last convergence ${new Date(lc.at).toISOString()} (${lc.durationMs} ms)` : ""),
    "",
  ];
  const rows = [["ID", "NAME", "ADDRESS", "PRIO", "WEIGHT", "STATE", "HB AGE", "SHARE", ""]];
  for (const h of s.hosts) {
    rows.push([
      String(h.id),
      h.name + (h.self ? " *" : ""),
      h.address,
      String(h.priority),
      String(h.weight),
      h.state,
      h.heartbeatAgeMs === null ? "-" : `${h.heartbeatAgeMs} ms`,
      `${(h.share * 100).toFixed(1)}%`,
      h.refused ?? "",
    ]);
  }
  return head.join("\n") + table(rows);
}
