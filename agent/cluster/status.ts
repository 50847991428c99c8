/**
 * The cluster as one host sees it, in the shape `appliance status --json` prints (like
 * NLB's `wlbs query`). Pure: the caller passes both clocks.
 */
import { bytesToHex, FLAG_UNHEALTHY } from "./heartbeat_codec.ts";
import type { DropReason, NodeState } from "./node_state.ts";
import { shares } from "./bucket_map.ts";

export type HostStatusState =
  | "converging"
  | "converged"
  | "draining"
  | "stopped"
  | "suspended"
  | "fault"
  | "unreachable";

export interface HostStatus {
  id: number;
  name: string;
  address: string;
  priority: number;
  weight: number;
  state: HostStatusState;
  self: boolean;
  /** Milliseconds since its last heartbeat; null for this host or one never heard. */
  heartbeatAgeMs: number | null;
  /** Fraction of all buckets of `multiple` rules it owns in this host's view (0..1). */
  share: number;
  /** Why it is not admitted, when it is not. */
  refused?: string;
  /** Why this host is in the fault state, when it is. */
  fault?: string;
  /** Its local service's health check verdict (with the reason, for this host). */
  health: "healthy" | "unhealthy" | "unknown";
  healthReason?: string;
  /** The content generation it serves (replication; 0: none), as its heartbeats report. */
  generation: number;
}

export interface ClusterStatus {
  clusterId: string;
  clusterIp: string;
  mode: string;
  configVersion: number;
  epoch: number;
  converged: boolean;
  viewDigest: string;
  /** Wall-clock ms of the last convergence and how long it took, if any. */
  lastConvergence: { at: number; durationMs: number; epoch: number } | null;
  hosts: HostStatus[];
  drops: Record<DropReason, number>;
}

export function describe(s: NodeState, now: number, wallNow: number): ClusterStatus {
  const counts = new Map<number, number>();
  let total = 0;
  for (const map of Object.values(s.view.maps)) {
    total += map.length;
    for (const [id, n] of shares(map)) counts.set(id, (counts.get(id) ?? 0) + n);
  }
  const hosts = s.config.hosts.map((h): HostStatus => {
    const self = h.id === s.selfId;
    const p = s.peers.get(h.id);
    let state: HostStatusState = self ? s.actual : "unreachable";
    if (!self && p?.alive && p.last) state = p.last.state;
    return {
      id: h.id,
      name: h.name,
      address: h.address,
      priority: h.priority,
      weight: h.weight,
      state,
      self,
      heartbeatAgeMs: self || !p || p.lastHeard === 0 ? null : Math.round(now - p.lastHeard),
      share: total === 0 ? 0 : (counts.get(h.id) ?? 0) / total,
      ...(p?.refused ? { refused: p.refused } : {}),
      health: self
        ? (s.healthy ? "healthy" : "unhealthy")
        : !p?.alive || !p.last
        ? "unknown"
        : p.last.flags & FLAG_UNHEALTHY
        ? "unhealthy"
        : "healthy",
      ...(self && s.healthReason ? { healthReason: s.healthReason } : {}),
      ...(self && s.fault ? { fault: s.fault } : {}),
      generation: self ? s.content.served : p?.last?.content.served ?? 0,
    };
  }).sort((a, b) => a.priority - b.priority);
  const lc = s.lastConvergence;
  return {
    clusterId: s.config.clusterId,
    clusterIp: s.config.clusterIp,
    mode: s.config.mode,
    configVersion: s.config.version,
    epoch: s.view.epoch,
    converged: s.converged,
    viewDigest: bytesToHex(s.view.viewDigest),
    lastConvergence: lc
      ? {
        at: Math.round(wallNow - (now - lc.at)),
        durationMs: Math.round(lc.durationMs),
        epoch: lc.epoch,
      }
      : null,
    hosts,
    drops: { ...s.drops },
  };
}
