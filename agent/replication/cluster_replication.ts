/**
 * Replication seen from any host, for the CLI and the panel.
 *
 * The status: this host's own line, every other member's line through the peer API, and,
 * for a member that does not answer, what its heartbeats last said. The exporter adds the
 * pending generation and the history. Commands go to the exporter, wherever it is.
 */
import type { ClusterStatus } from "../cluster/status.ts";
import { DEFAULT_REPLICATION, type ReplicationSettings } from "../cluster/replication_settings.ts";
import type { ReplicationCommand, ReplicationPeer } from "../peer/replication_routes.ts";
import type { ReplicationHostStatus, ReplicationStatus } from "./status.ts";

/** The cluster's replication as the control API and the panel use it (built in agent.ts). */
export interface ReplicationOps {
  status(): Promise<ReplicationStatus>;
  command(cmd: ReplicationCommand, by: string): Promise<{ message: string; gen?: number }>;
}

export interface GatherDeps {
  cluster: ClusterStatus;
  settings: ReplicationSettings | undefined;
  local: (ReplicationPeer & { generations(): { offered: number; committed: number } }) | undefined;
  /** GET /peer/v1/replication/status on another member. */
  ask(address: string): Promise<{
    host: ReplicationHostStatus;
    exporter: Pick<ReplicationStatus, "pending" | "history"> | null;
  }>;
}

export async function gatherStatus(d: GatherDeps): Promise<ReplicationStatus> {
  const s = d.settings ?? DEFAULT_REPLICATION;
  const exporterHost = d.cluster.hosts.find((h) => h.id === s.exporter);
  let extra: Pick<ReplicationStatus, "pending" | "history"> | null = null;
  const hosts = await Promise.all(d.cluster.hosts.map(async (h) => {
    if (h.self && d.local) {
      if (h.id === s.exporter) extra = d.local.exporterStatus();
      return d.local.hostStatus();
    }
    if (h.state !== "unreachable") {
      try {
        const r = await d.ask(h.address);
        if (h.id === s.exporter) extra = r.exporter;
        return r.host;
      } catch { /* told from its heartbeats below */ }
    }
    return {
      hostId: h.id,
      name: h.name,
      role: h.id === s.exporter ? "exporter" : "importer",
      generation: h.generation,
      staged: 0,
      state: "unreachable",
      lagMs: null,
      lagGens: 0,
      bytesToGo: 0,
      objectsToGo: 0,
      bytesDone: 0,
      lastError: null,
      publishedPath: "",
    } satisfies ReplicationHostStatus;
  }));
  const gens = d.local?.generations() ?? { offered: 0, committed: 0 };
  const x = extra as Pick<ReplicationStatus, "pending" | "history"> | null;
  return {
    enabled: s.exporter !== 0 && s.source !== "",
    exporter: exporterHost
      ? { hostId: exporterHost.id, name: exporterHost.name, source: s.source }
      : null,
    offered: gens.offered,
    committed: gens.committed,
    consistency: s.consistency,
    pending: x?.pending ?? null,
    hosts,
    history: x?.history ?? [],
  };
}

export interface CommandDeps {
  cluster: ClusterStatus;
  settings: ReplicationSettings | undefined;
  local: ReplicationPeer | undefined;
  /** POST /peer/v1/replication/command on another member. */
  forward(address: string, body: unknown): Promise<{ message: string; gen?: number }>;
}

/** Runs a replication command on the exporter, wherever it is. */
export function sendCommand(
  d: CommandDeps,
  cmd: ReplicationCommand,
  by: string,
): Promise<{ message: string; gen?: number }> {
  const s = d.settings ?? DEFAULT_REPLICATION;
  const exporter = d.cluster.hosts.find((h) => h.id === s.exporter);
  if (s.exporter === 0 || !exporter) {
    return Promise.reject(
      new Error(
        "replication is not configured: choose an exporter with " +
          "`appliance replication exporter HOST --source DIR`",
      ),
    );
  }
  if (exporter.self) {
    if (!d.local) return Promise.reject(new Error("the replication service is not running here"));
    return d.local.command(cmd, by);
  }
  if (exporter.state === "unreachable") {
    return Promise.reject(new Error(`the exporter ${exporter.name} is unreachable`));
  }
  return d.forward(exporter.address, { ...cmd, by });
}
