/**
 * What goes into the cluster core and what comes out of it. The core never performs I/O:
 * it returns effects as data and one driver (agent/driver.ts, or the simulator) runs them.
 */
import type { ClusterConfig } from "./config.ts";
import type { ViewSnapshot } from "./view.ts";
import type { ContentReport } from "./node_state.ts";

export type AdminCommand = "drainstop" | "stop" | "start" | "suspend" | "resume" | "leave";

export type Input =
  /** A timer armed by `armTimer` fired (or any wake-up: the core checks all deadlines). */
  | { kind: "tick" }
  /**
   * The agent is about to stop running for a while (a full garbage collection): a
   * heartbeat goes out now, so peers hear silence for the pause alone, not the pause plus
   * up to one period.
   */
  | { kind: "pause" }
  /** A datagram arrived on the heartbeat port. */
  | { kind: "packet"; bytes: Uint8Array; from: string }
  /** An operator command; `by` says who asked (for the event log). */
  | { kind: "command"; command: AdminCommand; by?: string }
  /** A config to adopt: a local edit, a push from a peer, or a fetch after a newer heartbeat. */
  | { kind: "config"; config: ClusterConfig; source: string }
  /** A peer's config fetched to name the fields of a mismatch. */
  | { kind: "peerConfig"; hostId: number; config: ClusterConfig }
  /** A peer's view fetched after it won the epoch tie-break. */
  | { kind: "snapshot"; hostId: number; snapshot: ViewSnapshot }
  /** A fetch asked for by an effect failed. */
  | { kind: "fetchFailed"; hostId: number; what: "map" | "config"; error: string }
  /** The dataplane reports no established connections are left while draining. */
  | { kind: "drained" }
  /** The cluster interface went missing or down (reason), or is back (null). */
  | { kind: "fault"; reason: string | null }
  /** The health check changed its verdict on the local service (after rise/fall). */
  | { kind: "health"; healthy: boolean; reason: string }
  /** Replication's generations and verdicts changed (reason: why, when `stale` changes). */
  | { kind: "content"; report: ContentReport; reason: string };

export type Level = "debug" | "info" | "warn" | "error";

/** Buckets and roles this host should hold in the dataplane. */
export interface BucketPlan {
  epoch: number;
  /** The config the plan was computed from: a new version re-renders the dataplane rules. */
  configVersion: number;
  /** For each `multiple` rule: the buckets this host accepts new connections for. */
  owned: Record<string, number[]>;
  /** For each `single` rule: whether this host is its owner. */
  single: Record<string, boolean>;
  /** Whether this host takes traffic outside every rule (the lowest priority number). */
  defaultHost: boolean;
  /** False when stopped, suspended or draining: only established flows are served. */
  accepting: boolean;
  /**
   * A newcomer still fetching the map (not yet accepting): it takes the new flows its peers
   * forward to it, in the buckets they already released to it.
   */
  joining?: boolean;
}

/**
 * For each `multiple` rule, the buckets this host released and still forwards: each with the
 * address of the live peer that owns it now and how much longer to forward (ms). The
 * dataplane sends new flows in them to that peer, so no SYN lands between the release here
 * and the take there. Always the complete current list.
 */
export type Handoff = Record<string, { bucket: number; to: string; ms: number }[]>;

export type Effect =
  | { kind: "send"; to: string[]; bytes: Uint8Array }
  | { kind: "armTimer"; at: number }
  | {
    kind: "log";
    level: Level;
    type: string;
    message: string;
    details?: Record<string, unknown>;
  }
  | { kind: "applyBuckets"; plan: BucketPlan; handoff?: Handoff }
  | { kind: "fetchMap"; hostId: number; address: string }
  | { kind: "fetchConfig"; hostId: number; address: string; reason: "newer" | "mismatch" }
  /** The view changed or the host changed state: observers (panel, status) may refresh. */
  | { kind: "changed" };
