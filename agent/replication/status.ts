/**
 * What `appliance replication status`, the peer API and the panel's Replication page
 * report: one record per host and one for the cluster.
 *
 * Pure types and a formatter; no I/O.
 */

/**
 * A host's replication state:
 *
 *   off ── (replication configured) ──▶ idle ──▶ fetching ──▶ staged ──▶ publishing ──▶ idle
 *                                        ▲  │                                          │
 *                                        │  └──▶ error (cannot stage: stays on N-1) ───┘
 *   exporter only: idle ──▶ scanning ──▶ idle (offers N) ;  held (a rollback or a
 *   mass deletion waits for `replication now`)
 *   unreachable: the reporting host could not ask that host.
 */
export type ReplicationState =
  | "off"
  | "idle"
  | "scanning"
  | "fetching"
  | "staged"
  | "publishing"
  | "held"
  | "error"
  | "unreachable";

export interface ReplicationHostStatus {
  hostId: number;
  name: string;
  role: "exporter" | "importer";
  /** The generation this host serves (0: none yet). */
  generation: number;
  /** The newest generation it has staged (fetched, fsync'd, ready to flip). */
  staged: number;
  state: ReplicationState;
  /** How long the host has been behind the cluster's committed generation (null: not behind). */
  lagMs: number | null;
  /** Committed generation minus the served one (0: up to date). */
  lagGens: number;
  /** Still to fetch for the generation being staged. */
  bytesToGo: number;
  objectsToGo: number;
  /** Fetched so far for the generation being staged. */
  bytesDone: number;
  lastError: string | null;
  /** The directory a web server serves: a symlink swapped atomically on each publish. */
  publishedPath: string;
}

export interface GenerationSummary {
  gen: number;
  createdMs: number;
  files: number;
  bytes: number;
  added: number;
  modified: number;
  removed: number;
  renamed: number;
  /** Set when the generation re-publishes an older one. */
  rollbackOf?: number;
}

export interface ReplicationStatus {
  /** False until a content source is configured (`appliance init --content-source`). */
  enabled: boolean;
  exporter: { hostId: number; name: string; source: string } | null;
  /** The newest generation the exporter offers, and the one the cluster serves. */
  offered: number;
  committed: number;
  consistency: "relaxed" | "strict";
  /** A generation the exporter holds back until `replication now --confirm`. */
  pending: { gen: number; reason: string; removed: number; total: number } | null;
  hosts: ReplicationHostStatus[];
  /** The exporter's kept generations, newest first (rollback targets). */
  history: GenerationSummary[];
}

export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0, v = n;
  while (v >= 1024 && i < units.length - 1) v /= 1024, i++;
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
