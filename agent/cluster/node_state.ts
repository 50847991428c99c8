/**
 * The state one host keeps about the cluster, and how it starts.
 *
 * The host's own state keeps *desired* (admin, set by commands) apart from *actual*
 * (derived from admin and agreement). Actual state:
 *
 *                  start / resume                       all peers report my view digest
 *    stopped ─────────────────────────► converging ─────────────────────────► converged
 *      ▲  ▲                               ▲   ▲  ◄──────────────────────────────┘
 *      │  │        drain done / timeout   │   │        a view change, or a peer disagrees
 *      │  └───────────── draining ◄───────┼───┴── drainstop
 *      │ stop                             │ resume
 *      └───────── (any) ── suspend ──► suspended
 *
 * fault (the cluster interface is missing or down) overrides converging, converged and
 * draining until the interface is back.
 *
 * A newcomer stays in `converging` with awaitingMap set until it adopts the cluster's view
 * from a peer (or, after one detection time with no established peer, computes one itself).
 */
import { type ClusterConfig, configDigest, hostIndex } from "./config.ts";
import type { BucketPlan } from "./effects.ts";
import type { ContentGens, Heartbeat } from "./heartbeat_codec.ts";
import { hexToBytes, sameContent } from "./heartbeat_codec.ts";
import { emptyView, type View } from "./view.ts";

export type AdminState = "active" | "draining" | "stopped" | "suspended";
export type ActualState =
  | "converging"
  | "converged"
  | "draining"
  | "stopped"
  | "suspended"
  | "fault";

export type DropReason =
  | "malformed"
  | "version"
  | "foreign-cluster"
  | "forged"
  | "replayed"
  | "stale"
  | "unknown-host"
  | "self";

export const DROP_REASONS: DropReason[] = [
  "malformed",
  "version",
  "foreign-cluster",
  "forged",
  "replayed",
  "stale",
  "unknown-host",
  "self",
];

export interface Peer {
  id: number;
  /** In this host's membership: heard, admitted and not declared dead. */
  alive: boolean;
  /** Missed suspectMisses periods: this host no longer vouches for it in its heard bitmap. */
  suspect: boolean;
  lastHeard: number;
  incarnation: number;
  seq: number;
  last?: Heartbeat;
  /** Why it is not admitted (config mismatch, duplicate priority, wrong key), if so. */
  refused?: string;
  /** When refusal was last logged, to log it once per minute rather than per packet. */
  refusedLoggedAt?: number;
  downSince?: number;
  /** It left with a bow-out (sent after it released its buckets), not by a timeout. */
  bowedOut?: boolean;
  /** When a forged heartbeat naming it was last logged (another cluster key?). */
  forgeryLoggedAt?: number;
}

/** What replication reports about this host (see agent/replication/). */
export interface ContentReport extends ContentGens {
  /** It cannot stage the offered generation. */
  error: boolean;
  /** Strict consistency and behind the committed generation: out of the bucket map. */
  stale: boolean;
}

/** Whether two reports say the same (generations, error and stale alike). */
export function sameReport(a: ContentReport, b: ContentReport): boolean {
  return sameContent(a, b) && a.error === b.error && a.stale === b.stale;
}

export interface NodeState {
  selfId: number;
  incarnation: number;
  seq: number;
  key: Uint8Array;
  clusterIdBytes: Uint8Array;
  config: ClusterConfig;
  configDigest: Uint8Array;
  /** Host id -> bit in heard bitmaps (config order by id). */
  hostBits: Map<number, number>;
  admin: AdminState;
  /** Why the host cannot serve (its cluster interface is missing or down), if it cannot. */
  fault?: string;
  /** The local service's health (true when no check is configured). */
  healthy: boolean;
  healthReason?: string;
  /** Replication's generations and verdicts, as this host reports them in heartbeats. */
  content: ContentReport;
  actual: ActualState;
  leaving: boolean;
  startedAt: number;
  awaitingMap: boolean;
  peers: Map<number, Peer>;
  view: View;
  converged: boolean;
  convergingSince: number;
  lastConvergence?: { at: number; durationMs: number; epoch: number };
  /** Maps at the last agreement: while converging, a host only keeps buckets it had then. */
  agreedView?: View;
  lastPlan?: BucketPlan;
  /** What lastPlan was computed from while converged (see refreshAgreement). */
  planBasis?: { view: View; config: ClusterConfig; accepting: boolean };
  /**
   * Buckets this host let go since the last agreement, by rule: it takes them back only at
   * the next agreement, even if a later view returns them (a peer may hold them by then).
   */
  releasedSinceAgreement: Record<string, ReadonlySet<number>>;
  /** Buckets released to a peer and forwarded to it until `until` (see converge.ts). */
  handingOff: { rule: string; bucket: number; to: number; until: number }[];
  drops: Record<DropReason, number>;
  nextBeatAt: number;
  lastSentAt: number;
  drainDeadline?: number;
  /** When step() last ran: a gap of suspectMisses periods means this host itself stalled. */
  lastStepAt: number;
  /**
   * When this host last came back from a stall of its own: peers' silence before it does
   * not count (their heartbeats were queued, unread, and may take a while to read).
   */
  listeningSince: number;
  pendingFetch?: { hostId: number; what: "map" | "config"; at: number };
}

export interface NodeInit {
  selfId: number;
  incarnation: number;
  key: Uint8Array;
  config: ClusterConfig;
  /** Desired state at start; a host that was stopped stays stopped across restarts. */
  admin?: AdminState;
}

export function initialState(init: NodeInit, now: number): NodeState {
  const peers = new Map<number, Peer>();
  for (const h of init.config.hosts) {
    if (h.id === init.selfId) continue;
    peers.set(h.id, {
      id: h.id,
      alive: false,
      suspect: false,
      lastHeard: 0,
      incarnation: 0,
      seq: 0,
    });
  }
  const admin = init.admin ?? "active";
  return {
    selfId: init.selfId,
    incarnation: init.incarnation,
    seq: 0,
    key: init.key,
    clusterIdBytes: hexToBytes(init.config.clusterId),
    config: init.config,
    configDigest: configDigest(init.config),
    hostBits: hostIndex(init.config),
    admin,
    healthy: true,
    content: { offered: 0, committed: 0, staged: 0, served: 0, error: false, stale: false },
    actual: admin === "active" ? "converging" : admin,
    leaving: false,
    startedAt: now,
    awaitingMap: true,
    peers,
    view: emptyView(),
    converged: false,
    convergingSince: now,
    drops: Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>,
    nextBeatAt: now,
    lastSentAt: -Infinity,
    drainDeadline: admin === "draining" ? now + init.config.drainTimeoutMs : undefined,
    releasedSinceAgreement: {},
    handingOff: [],
    lastStepAt: now,
    listeningSince: -Infinity,
  };
}

export function hostName(s: NodeState, id: number): string {
  return s.config.hosts.find((h) => h.id === id)?.name ?? `#${id}`;
}
