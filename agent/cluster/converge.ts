/**
 * Convergence: from who is alive to one agreed view, with no leader.
 *
 * Every host computes its view from the same inputs (config, eligible members, previous
 * maps), so hosts that saw the same events agree by construction. Hosts that saw them in a
 * different order may compute different maps for the same members; the higher
 * (epoch, view digest) wins and the others fetch it once over the peer API. Hosts that
 * disagree on *who* is alive fetch nothing: liveness settles first.
 *
 * Every change of the host's actual state goes through `transition()`.
 */
import type { BucketPlan, Effect, Handoff } from "./effects.ts";
import { equalBytes, FLAG_AWAITING_MAP, FLAGS_NOT_SERVING } from "./heartbeat_codec.ts";
import type { ActualState, NodeState, Peer } from "./node_state.ts";
import {
  bucketsMoved,
  computeView,
  fromSnapshot,
  membersDigest,
  topPriority,
  viewDigest,
  type ViewSnapshot,
} from "./view.ts";
import { ownedBy } from "./bucket_map.ts";
import { log } from "./_log.ts";
import { hostName } from "./node_state.ts";
import { sendHeartbeat } from "./beacon.ts";

/** Hosts eligible for new connections, as this host sees them (itself included if active). */
export function eligibleMembers(s: NodeState): number[] {
  const out: number[] = [];
  if (ready(s) && s.config.hosts.some((h) => h.id === s.selfId)) out.push(s.selfId);
  for (const p of s.peers.values()) {
    if (!p.alive || p.refused || !p.last || p.last.flags & FLAGS_NOT_SERVING) continue;
    if (p.last.state === "converging" || p.last.state === "converged") out.push(p.id);
  }
  return out.sort((a, b) => a - b);
}

/** Recomputes the view after something that may change it; does nothing if it did not. */
export function recompute(s: NodeState, reason: string, now: number, fx: Effect[]) {
  let changed = false;
  if (!s.awaitingMap) {
    const next = computeView(s.view, s.config, eligibleMembers(s), s.view.epoch + 1);
    if (!equalBytes(next.viewDigest, s.view.viewDigest)) {
      const moved = bucketsMoved(s.view, next);
      s.view = next;
      changed = true;
      fx.push(log("info", "view.changed", `view epoch ${next.epoch}: ${reason}`, {
        epoch: next.epoch,
        members: next.members.map((id) => hostName(s, id)),
        bucketsMoved: moved,
      }));
    }
  }
  // Tell peers at once (not at the next period) when our view changed.
  if (!refreshAgreement(s, now, fx) && changed) sendHeartbeat(s, now, fx);
}

/**
 * Re-derives `converged`, the actual state and the bucket plan. When the actual state
 * changed it sends a heartbeat at once, so peers see it within a network delay; returns
 * whether it did.
 */
export function refreshAgreement(s: NodeState, now: number, fx: Effect[]): boolean {
  const agreed = !s.awaitingMap && [...s.peers.values()].every((p) =>
    !p.alive || !!p.refused ||
    (!!p.last && !(p.last.flags & FLAG_AWAITING_MAP) &&
      equalBytes(p.last.viewDigest, s.view.viewDigest))
  );
  if (agreed && !s.converged) {
    s.lastConvergence = { at: now, durationMs: now - s.convergingSince, epoch: s.view.epoch };
    s.agreedView = s.view;
    fx.push(
      log(
        "info",
        "cluster.converged",
        `converged at epoch ${s.view.epoch} in ${Math.round(now - s.convergingSince)} ms`,
        {
          epoch: s.view.epoch,
          durationMs: now - s.convergingSince,
          members: s.view.members.map((id) => hostName(s, id)),
        },
      ),
    );
  } else if (!agreed && s.converged) {
    s.convergingSince = now;
  }
  if (agreed) s.agreedView = s.view;
  s.converged = agreed;
  const moved = transition(s, desiredActual(s), fx);
  if (agreed) s.releasedSinceAgreement = {};
  // Converged, the plan depends only on the view, the config and whether we accept: on the
  // hot path (a heartbeat that changes none of them) it is not rebuilt.
  const basis = { view: s.view, config: s.config, accepting: accepting(s) };
  const b = s.planBasis;
  let planChanged = false;
  if (
    !s.converged || !b || b.view !== basis.view || b.config !== basis.config ||
    b.accepting !== basis.accepting
  ) {
    const plan = bucketPlan(s);
    s.releasedSinceAgreement = noteReleased(s.releasedSinceAgreement, s.lastPlan, plan);
    if (!s.lastPlan || !samePlan(plan, s.lastPlan)) {
      startHandoff(s, s.lastPlan, plan, now);
      s.lastPlan = plan;
      planChanged = true;
    }
    s.planBasis = s.converged ? basis : undefined;
  }
  const handoffChanged = pruneHandoff(s, now);
  if (s.lastPlan && (planChanged || handoffChanged)) {
    const handoff = handoffNow(s, now);
    fx.push({ kind: "applyBuckets", plan: s.lastPlan, ...(handoff && { handoff }) });
  }
  if (moved) sendHeartbeat(s, now, fx);
  return moved;
}

function desiredActual(s: NodeState): ActualState {
  if (s.fault && (s.admin === "active" || s.admin === "draining")) return "fault";
  if (s.admin !== "active") return s.admin;
  return s.converged ? "converged" : "converging";
}

const ALLOWED: Record<ActualState, ActualState[]> = {
  converging: ["converged", "draining", "stopped", "suspended", "fault"],
  converged: ["converging", "draining", "stopped", "suspended", "fault"],
  draining: ["stopped", "suspended", "converging", "converged", "fault"],
  stopped: ["converging", "converged", "suspended", "fault"],
  suspended: ["converging", "converged", "stopped", "fault"],
  fault: ["converging", "converged", "draining", "stopped", "suspended"],
};

/** The one place the actual state changes: asserts the move, logs "A -> B". */
export function transition(s: NodeState, to: ActualState, fx: Effect[]): boolean {
  const from = s.actual;
  if (from === to) return false;
  if (!ALLOWED[from].includes(to)) throw new Error(`invalid transition ${from} -> ${to}`);
  s.actual = to;
  fx.push(log("info", "host.state", `${from} -> ${to}`, { from, to, epoch: s.view.epoch }));
  fx.push({ kind: "changed" });
  return true;
}

/**
 * Whether a bucket whose last agreed owner was `prev` is free for this host to take before
 * the whole cluster agrees: it was ours; or `prev` let it go — it announces our view (the
 * driver sends a heartbeat only after the plan before it took effect) or it bowed out — and
 * no other host can hold it, because every live peer announces either our view or the last
 * agreed one (in both, the bucket is neither's). A dead owner's buckets wait for agreement
 * (its kernel lease has expired by then), and so does everything while views churn. This is
 * what makes a drainstop or a stop hand buckets over within one network delay instead of
 * one convergence round.
 */
function released(
  s: NodeState,
  rule: string,
  b: number,
  prev: number | undefined,
  settled: boolean,
): boolean {
  if (prev === undefined) return false;
  if (prev === s.selfId) return !s.releasedSinceAgreement[rule]?.has(b);
  if (!settled) return false;
  const p = s.peers.get(prev);
  if (p && !p.alive && p.bowedOut) return true;
  return !!p?.alive && !!p.last && equalBytes(p.last.viewDigest, s.view.viewDigest);
}

/** Every live peer announces our view or the last agreed one (or holds nothing yet). */
function settledPeers(s: NodeState): boolean {
  const agreed = s.agreedView?.viewDigest;
  return [...s.peers.values()].every((q) =>
    !q.alive || !q.last || !!(q.last.flags & FLAG_AWAITING_MAP) ||
    equalBytes(q.last.viewDigest, s.view.viewDigest) ||
    (!!agreed && equalBytes(q.last.viewDigest, agreed))
  );
}

/**
 * What this host should hold. Buckets are released as soon as the view moves them away but
 * taken only once their previous owner has let them go, so no bucket ever has two owners.
 */
function accepting(s: NodeState): boolean {
  return ready(s) && !s.awaitingMap;
}

/** Willing and able to serve: active, healthy, current content, no fault, not leaving. */
function ready(s: NodeState): boolean {
  return s.admin === "active" && s.healthy && !s.content.stale && !s.fault && !s.leaving;
}

export function bucketPlan(s: NodeState): BucketPlan {
  const plan: BucketPlan = {
    epoch: s.view.epoch,
    configVersion: s.config.version,
    owned: {},
    single: {},
    defaultHost: false,
    accepting: accepting(s),
    ...(s.awaitingMap && ready(s) && { joining: true }),
  };
  const agreed = s.converged ? s.view : s.agreedView;
  const settled = !s.converged && settledPeers(s);
  const top = (v = s.view) => topPriority(s.config, v.members) === s.selfId;
  for (const rule of s.config.rules) {
    if (rule.mode === "multiple") {
      const now = s.view.maps[rule.id];
      const then = agreed?.maps[rule.id];
      plan.owned[rule.id] = !plan.accepting || !now
        ? []
        : ownedBy(now, s.selfId).filter((b) =>
          s.converged || released(s, rule.id, b, then?.[b], settled)
        );
    } else if (rule.mode === "single") {
      plan.single[rule.id] = plan.accepting && top() && (s.converged || (!!agreed && top(agreed)));
    }
  }
  plan.defaultHost = plan.accepting && top() && (s.converged || (!!agreed && top(agreed)));
  return plan;
}

/** Per rule, the buckets `before` held and `after` does not (rules with none left out). */
function dropped(before: BucketPlan, after: BucketPlan): [string, number[]][] {
  const out: [string, number[]][] = [];
  for (const [rule, owned] of Object.entries(before.owned)) {
    const kept = new Set(after.owned[rule] ?? []);
    const gone = owned.filter((b) => !kept.has(b));
    if (gone.length > 0) out.push([rule, gone]);
  }
  return out;
}

/** Adds the buckets `before` held and `after` does not (a new set per changed rule). */
function noteReleased(
  acc: Record<string, ReadonlySet<number>>,
  before: BucketPlan | undefined,
  after: BucketPlan,
): Record<string, ReadonlySet<number>> {
  if (!before) return acc;
  let out = acc;
  for (const [rule, gone] of dropped(before, after)) {
    out = { ...out, [rule]: new Set([...(out[rule] ?? []), ...gone]) };
  }
  return out;
}

/**
 * How long a released bucket is forwarded at most: two leases. Long enough for its new owner
 * to hear of the release and take it (a newcomer first fetches the map); entries end sooner
 * when the view moves the bucket on, the peer goes, views diverge, or it is ours again.
 */
export function handoffMs(s: NodeState): number {
  const { periodMs, deadMisses } = s.config.heartbeat;
  return 2 * (deadMisses - 1) * periodMs;
}

/**
 * Starts forwarding the buckets `before` held and `after` does not to their owner in the
 * current view, when that is a live peer: in shared mode only (in failover mode one host
 * holds the whole cluster IP), and only while every live peer announces our view or the last
 * agreed one. Then no other host can hold a bucket we held, and its owner in our view is the
 * one that will take it; after a partition heals views differ, and nothing is forwarded.
 */
function startHandoff(
  s: NodeState,
  before: BucketPlan | undefined,
  after: BucketPlan,
  now: number,
): void {
  if (!before || s.config.mode !== "shared" || !settledPeers(s)) return;
  const fresh: NodeState["handingOff"] = [];
  for (const [rule, gone] of dropped(before, after)) {
    const map = s.view.maps[rule];
    if (!map) continue;
    for (const bucket of gone) {
      const to = map[bucket];
      if (to === s.selfId || !s.peers.get(to)?.alive) continue;
      fresh.push({ rule, bucket, to, until: now + handoffMs(s) });
    }
  }
  if (fresh.length === 0) return;
  const key = (e: { rule: string; bucket: number }) => `${e.rule}/${e.bucket}`;
  const renewed = new Set(fresh.map(key));
  s.handingOff = [...s.handingOff.filter((e) => !renewed.has(key(e))), ...fresh];
}

/**
 * Ends the forwarding of each bucket whose time is up, whose owner in the current view is no
 * longer its target, whose target is gone, or that we own again; of all of them while views
 * diverge. Returns whether any ended.
 */
function pruneHandoff(s: NodeState, now: number): boolean {
  if (s.handingOff.length === 0) return false;
  const settled = s.config.mode === "shared" && settledPeers(s);
  const owned = new Map(Object.entries(s.lastPlan?.owned ?? {}).map(([r, bs]) => [r, new Set(bs)]));
  const kept = s.handingOff.filter((e) =>
    settled && e.until > now && s.view.maps[e.rule]?.[e.bucket] === e.to &&
    !!s.peers.get(e.to)?.alive && !owned.get(e.rule)?.has(e.bucket)
  );
  if (kept.length === s.handingOff.length) return false;
  s.handingOff = kept;
  return true;
}

/** The buckets being forwarded, with their targets' addresses; undefined when none. */
export function handoffNow(s: NodeState, now: number): Handoff | undefined {
  const address = new Map(s.config.hosts.map((h) => [h.id, h.address]));
  let out: Handoff | undefined;
  for (const e of s.handingOff) {
    const to = address.get(e.to);
    if (to) ((out ??= {})[e.rule] ??= []).push({ bucket: e.bucket, to, ms: e.until - now });
  }
  return out;
}

function samePlan(a: BucketPlan, b: BucketPlan): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A fetch of the peer's view, if it wins the tie-break and agrees with us on membership. */
export function wantsFetch(s: NodeState, peer: Peer, now: number): Effect | undefined {
  const hb = peer.last;
  if (s.pendingFetch || !peer.alive || peer.refused || !hb || hb.epoch === 0) return;
  if (hb.flags & FLAG_AWAITING_MAP) return;
  if (equalBytes(hb.viewDigest, s.view.viewDigest)) return;
  const mine = s.awaitingMap ? membersDigest(eligibleMembers(s)) : s.view.membersDigest;
  const { periodMs, deadMisses } = s.config.heartbeat;
  const overdue = s.awaitingMap && now - s.startedAt >= 4 * periodMs * deadMisses;
  if (!equalBytes(hb.membersDigest, mine) && !overdue) return;
  const myEpoch = s.awaitingMap ? 0 : s.view.epoch;
  const wins = hb.epoch > myEpoch ||
    (hb.epoch === myEpoch && compareBytes(hb.viewDigest, s.view.viewDigest) > 0);
  if (!wins) return;
  const address = s.config.hosts.find((h) => h.id === peer.id)?.address;
  if (!address) return;
  s.pendingFetch = { hostId: peer.id, what: "map", at: now };
  return { kind: "fetchMap", hostId: peer.id, address };
}

/** Takes a fetched view as the base, reconciled with who this host sees as eligible. */
export function adoptSnapshot(
  s: NodeState,
  hostId: number,
  snap: ViewSnapshot,
  now: number,
  fx: Effect[],
) {
  if (snap.configVersion !== s.config.version) return;
  if (!s.awaitingMap && snap.epoch < s.view.epoch) return;
  const base = fromSnapshot(snap, s.config.buckets);
  if (typeof base === "string") {
    fx.push(
      log("warn", "view.rejected", `view from host ${hostName(s, hostId)} rejected: ${base}`),
    );
    return;
  }
  s.awaitingMap = false;
  // A newcomer has agreed on nothing yet: the view it adopts says who held what.
  s.agreedView ??= {
    epoch: snap.epoch,
    members: snap.members,
    maps: base.maps,
    membersDigest: membersDigest(snap.members),
    viewDigest: viewDigest(snap.members, base.maps),
  };
  const next = computeView(base, s.config, eligibleMembers(s), snap.epoch);
  if (!equalBytes(next.viewDigest, viewDigest(snap.members, base.maps))) next.epoch++;
  const moved = bucketsMoved(s.view, next);
  s.view = next;
  fx.push(
    log(
      "info",
      "view.adopted",
      `adopted view epoch ${next.epoch} from host ${hostName(s, hostId)}`,
      {
        epoch: next.epoch,
        bucketsMoved: moved,
      },
    ),
  );
  sendHeartbeat(s, now, fx);
  refreshAgreement(s, now, fx);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}
