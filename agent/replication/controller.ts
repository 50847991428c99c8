/**
 * The two-phase publish, decided from heartbeats: pure, `(state, input) -> decision`.
 *
 *   exporter                     importers (and the exporter itself)
 *   ────────                     ───────────────────────────────────
 *   makes gen N, offers N ──hb──▶ fetch N (from the exporter or any host that staged N)
 *                                stage N (fsync'd), report staged=N
 *   every live host staged N, ◀─hb─┘
 *   or reported an error, or
 *   stageTimeout passed:
 *   commits N ──────────────hb──▶ each host flips `current` to N when it has N staged
 *
 * A host that cannot stage N keeps serving N-1 and sets its error flag; the exporter
 * commits without it. With `consistency: strict`, a host that serves less than the
 * committed generation is *stale* and leaves the bucket map until it catches up.
 * Generations only move forward: a rollback re-offers old content as a new number.
 */
import type { ContentReport } from "../cluster/node_state.ts";
import type { ReplicationSettings } from "../cluster/replication_settings.ts";
import type { ContentGens } from "../cluster/heartbeat_codec.ts";

/** A live, admitted peer as its last heartbeat describes it. */
export interface PeerContent {
  id: number;
  gens: ContentGens;
  /** Its CONTENT_ERROR flag: it cannot stage what is offered. */
  error: boolean;
}

export interface ControllerInput {
  now: number;
  selfId: number;
  settings: ReplicationSettings;
  peers: PeerContent[];
  /**
   * The membership view is agreed: every live holder of a generation is known, so a
   * fetch picks its sources from all of them (not just the first peer heard at start).
   */
  settled: boolean;
  /** Generations staged in the local store, and the one served (0: none). */
  staged: number[];
  served: number;
  /** The generation a fetch is running for, if one is. */
  fetching?: number;
  /** The last failed fetch. */
  failed?: { gen: number; at: number; error: string };
  /** Exporter only: its newest generation and when it offered it. */
  offered: number;
  offeredAt: number;
}

export interface ControllerState {
  /** Exporter only: the generation it told the cluster to serve. */
  committed: number;
}

export type ReplicationAction =
  | { kind: "fetch"; gen: number; sources: number[] }
  | { kind: "publish"; gen: number }
  | { kind: "commit"; gen: number; waited: number[] };

export interface Decision {
  state: ControllerState;
  actions: ReplicationAction[];
  report: ContentReport;
  /** The committed generation this host follows (0: none yet). */
  committed: number;
}

/** After a failed fetch, wait this long before trying the same generation again. */
export const RETRY_MS = 5_000;

export function decide(state: ControllerState, i: ControllerInput): Decision {
  const exporter = i.settings.exporter;
  const isExporter = exporter === i.selfId;
  const actions: ReplicationAction[] = [];
  const next = { ...state };
  const stagedMax = i.staged.length ? Math.max(...i.staged) : 0;
  const exp = isExporter ? undefined : i.peers.find((p) => p.id === exporter);
  const offered = isExporter ? i.offered : exp?.gens.offered ?? 0;

  if (isExporter && i.offered > next.committed) {
    const waiting = i.peers.filter((p) => p.gens.staged < i.offered && !p.error).map((p) => p.id);
    const timedOut = i.now - i.offeredAt >= i.settings.stageTimeoutMs;
    if (i.staged.includes(i.offered) && (waiting.length === 0 || timedOut)) {
      next.committed = i.offered;
      actions.push({ kind: "commit", gen: i.offered, waited: timedOut ? waiting : [] });
    }
  }
  const committed = isExporter ? next.committed : exp?.gens.committed ?? 0;

  const retryDue = !i.failed || i.failed.gen !== offered || i.now - i.failed.at >= RETRY_MS;
  if (
    !isExporter && offered > 0 && offered > i.served && !i.staged.includes(offered) &&
    i.fetching === undefined && retryDue && i.settled
  ) {
    const holders = i.peers.filter((p) => p.id !== exporter && p.gens.staged >= offered)
      .map((p) => p.id).sort((a, b) => a - b);
    // Spread importers over the holders; the exporter is always the last resort.
    const k = holders.length ? i.selfId % holders.length : 0;
    const sources = [...holders.slice(k), ...holders.slice(0, k)];
    if (exp) sources.push(exporter);
    if (sources.length > 0) actions.push({ kind: "fetch", gen: offered, sources });
  }
  if (committed > i.served && i.staged.includes(committed)) {
    actions.push({ kind: "publish", gen: committed });
  }
  // A flip to the committed generation in this very decision is not lagging behind it.
  const flipping = actions.some((a) => a.kind === "publish");
  const error = !!i.failed && i.failed.gen === offered && !i.staged.includes(offered);
  return {
    state: next,
    actions,
    committed,
    report: {
      offered: isExporter ? i.offered : 0,
      committed: isExporter ? next.committed : 0,
      staged: stagedMax,
      served: i.served,
      error,
      stale: i.settings.consistency === "strict" && exporter !== 0 && i.served < committed &&
        !flipping,
    },
  };
}
