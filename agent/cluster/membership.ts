/**
 * Membership: `step(state, input, now) -> { state, effects }`, the cluster core's only entry.
 *
 * Liveness. Every host sends a heartbeat each period to every other member (unicast). A
 * peer unheard for suspectMisses periods is *suspected*: this host clears the peer's bit in
 * the heard bitmap it advertises. A peer unheard for deadMisses periods is declared dead
 * only when every other live, unsuspected peer also reports not hearing it — so a burst of
 * loss on one path, or this host's own pause, does not evict a healthy host. With no other
 * live peer to ask, the local timeout decides.
 *
 * Handlers are guard clauses (malformed, foreign, forged, unknown, self, stale, replayed,
 * refused) before one change; every drop is counted by reason.
 */
import { configDigest, hostIndex } from "./config.ts";
import type { Effect, Input } from "./effects.ts";
import {
  decodeHeartbeat,
  FLAG_AWAITING_MAP,
  FLAG_CONTENT_STALE,
  FLAG_LEAVING,
  FLAG_UNHEALTHY,
  FLAGS_NOT_SERVING,
  type Heartbeat,
  sameContent,
} from "./heartbeat_codec.ts";
import { sendHeartbeat } from "./beacon.ts";
import { hostName, type NodeState, type Peer, sameReport } from "./node_state.ts";
import { applyCommand } from "./commands.ts";
import { adoptSnapshot, recompute, refreshAgreement, wantsFetch } from "./converge.ts";
import { checkPeerConfig, describeMismatch } from "./config_sync.ts";
import { log } from "./_log.ts";

export interface StepResult {
  state: NodeState;
  effects: Effect[];
  /** Set when a command was refused, with the reason for the operator. */
  error?: string;
}

export function step(state: NodeState, input: Input, now: number): StepResult {
  const s = cloneState(state);
  const fx: Effect[] = [];
  let error: string | undefined;
  noteStall(s, now, fx);
  // The first plan (a newcomer's: take only flows forwarded to it) is applied before the
  // first heartbeat goes out (the driver sends what follows a plan once it took effect):
  // peers hand buckets over as soon as they hear us, and a host without its rules would
  // answer a forwarded SYN but drop the rest of the flow, which comes via the cluster MAC.
  if (!s.lastPlan) refreshAgreement(s, now, fx);
  switch (input.kind) {
    case "packet":
      onPacket(s, input.bytes, input.from, now, fx);
      break;
    case "tick":
      break;
    case "pause":
      sendHeartbeat(s, now, fx);
      break;
    case "command":
      error = applyCommand(s, input.command, input.by ?? "local", now, fx);
      break;
    case "config":
      if (s.pendingFetch?.what === "config") s.pendingFetch = undefined;
      adoptConfig(s, input.config, input.source, now, fx);
      break;
    case "peerConfig":
      describeMismatch(s, input.hostId, input.config, now, fx);
      if (input.config.version > s.config.version) adoptConfig(s, input.config, "peer", now, fx);
      break;
    case "snapshot":
      if (s.pendingFetch?.hostId === input.hostId) s.pendingFetch = undefined;
      adoptSnapshot(s, input.hostId, input.snapshot, now, fx);
      break;
    case "fetchFailed":
      if (s.pendingFetch?.hostId === input.hostId) s.pendingFetch = undefined;
      fx.push(
        log(
          "warn",
          "peer.fetch_failed",
          `fetching ${input.what} from host ${hostName(s, input.hostId)} failed: ${input.error}`,
        ),
      );
      break;
    case "fault":
      if ((s.fault ?? null) !== input.reason) {
        s.fault = input.reason ?? undefined;
        fx.push(log(
          input.reason ? "error" : "info",
          "host.fault",
          input.reason ? `fault: ${input.reason}` : "fault cleared: the cluster interface is back",
          { reason: input.reason },
        ));
        recompute(s, input.reason ? `fault: ${input.reason}` : "fault cleared", now, fx);
      }
      break;
    case "content": {
      const wasStale = s.content.stale, before = s.content;
      s.content = { ...input.report };
      if (wasStale !== input.report.stale) {
        fx.push(log(
          input.report.stale ? "warn" : "info",
          "content.stale",
          input.report.stale
            ? `leaves the bucket map until its content catches up: ${input.reason}`
            : `content caught up: ${input.reason}`,
          { stale: input.report.stale, served: input.report.served },
        ));
        recompute(s, input.report.stale ? "content behind" : "content caught up", now, fx);
      }
      // Peers act on generations (stage, flip, commit): tell them now, not at the next period.
      if (!sameReport(before, input.report)) sendHeartbeat(s, now, fx);
      break;
    }
    case "health":
      if (s.healthy !== input.healthy) {
        s.healthy = input.healthy;
        s.healthReason = input.healthy ? undefined : input.reason;
        fx.push(log(
          input.healthy ? "info" : "warn",
          "host.health",
          input.healthy
            ? `local service healthy again: ${input.reason}`
            : `local service unhealthy: ${input.reason}`,
          { healthy: input.healthy, reason: input.reason },
        ));
        recompute(s, input.healthy ? "local service healthy" : "local service unhealthy", now, fx);
        // Peers learn it from the flag: send now, not at the next period.
        sendHeartbeat(s, now, fx);
      }
      break;
    case "drained":
      if (s.admin === "draining") {
        s.admin = "stopped";
        s.drainDeadline = undefined;
        fx.push(log("info", "host.drained", "drain finished: no established connections left"));
        refreshAgreement(s, now, fx);
      }
      break;
  }
  onTimers(s, now, fx);
  s.lastStepAt = now;
  return { state: s, effects: fx, error };
}

/**
 * If this host itself was frozen (a long GC, a loaded machine, SIGSTOP) every peer looks
 * silent at once, and whichever peer is checked first would lose its confirmer. So after
 * our own stall of suspectMisses periods, silence before it does not count: each peer gets
 * its full suspicion and death windows from then on. One period of grace was not enough:
 * under load (a 100k-file sync, 3 agents on 2 cores) the heartbeats queued during a
 * 150-270 ms stall took longer to read, and peers were declared down and up again.
 */
function noteStall(s: NodeState, now: number, fx: Effect[]) {
  const { periodMs, suspectMisses } = s.config.heartbeat;
  const gap = now - s.lastStepAt;
  if (gap < periodMs * suspectMisses) return;
  s.listeningSince = now;
  fx.push(
    log(
      "warn",
      "host.stalled",
      `this host was stalled for ${Math.round(gap)} ms: peers' silence meanwhile does not count`,
      { gapMs: Math.round(gap) },
    ),
  );
}

function onPacket(s: NodeState, bytes: Uint8Array, from: string, now: number, fx: Effect[]) {
  const r = decodeHeartbeat(bytes, s.clusterIdBytes, s.key);
  if (!r.ok) {
    s.drops[r.reason]++;
    if (r.reason === "forged") noteForgery(s, r.hostId, from, now, fx);
    return;
  }
  const hb = r.hb;
  if (hb.hostId === s.selfId) return void s.drops.self++;
  const peer = s.peers.get(hb.hostId);
  if (!peer) return void s.drops["unknown-host"]++;
  if (hb.incarnation < peer.incarnation) return void s.drops.stale++;
  if (hb.incarnation === peer.incarnation && hb.seq <= peer.seq) return void s.drops.replayed++;

  const restarted = peer.incarnation !== 0 && hb.incarnation > peer.incarnation;
  const prevState = peer.last?.state;
  const prevFlags = (peer.last?.flags ?? 0) & (FLAGS_NOT_SERVING | FLAG_AWAITING_MAP);
  const prevContent = peer.last?.content;
  peer.incarnation = hb.incarnation;
  peer.seq = hb.seq;
  peer.lastHeard = now;
  peer.suspect = false;
  peer.last = hb;

  const refusal = checkPeerConfig(s, peer, hb, now, fx) ?? duplicatePriority(s, hb);
  if (refusal) return refuse(s, peer, refusal, now, fx);
  if (peer.refused) {
    fx.push(
      log(
        "info",
        "peer.admitted",
        `host ${hostName(s, peer.id)} admitted: ${peer.refused} resolved`,
      ),
    );
    peer.refused = undefined;
  }
  const name = hostName(s, peer.id);
  if (hb.flags & FLAG_LEAVING) {
    if (peer.alive) {
      peer.bowedOut = true;
      markDown(s, peer, "left the cluster (bow-out)", now, fx);
    }
    return;
  }
  if (!peer.alive) {
    peer.alive = true;
    peer.bowedOut = false;
    peer.downSince = undefined;
    fx.push(log("info", "peer.up", `host ${name} is up`, { incarnation: hb.incarnation }));
    recompute(s, `host ${name} joined`, now, fx);
  } else {
    if (restarted) {
      fx.push(
        log("info", "peer.restarted", `host ${name} restarted`, { incarnation: hb.incarnation }),
      );
    }
    if (prevState !== hb.state) recompute(s, `host ${name} is ${hb.state}`, now, fx);
    else if (prevFlags !== (hb.flags & (FLAGS_NOT_SERVING | FLAG_AWAITING_MAP))) {
      const what = hb.flags & FLAG_UNHEALTHY
        ? "unhealthy"
        : hb.flags & FLAG_CONTENT_STALE
        ? "behind on content"
        : hb.flags & FLAG_AWAITING_MAP
        ? "fetching the view"
        : "ready";
      recompute(s, `host ${name} is ${what}`, now, fx);
    }
  }
  const fetch = wantsFetch(s, peer, now);
  if (fetch) fx.push(fetch);
  refreshAgreement(s, now, fx);
  // Replication acts on peers' generations (stage, commit, flip): tell observers at once.
  if (prevContent && !sameContent(prevContent, hb.content)) fx.push({ kind: "changed" });
}

function duplicatePriority(s: NodeState, hb: Heartbeat): string | undefined {
  const self = s.config.hosts.find((h) => h.id === s.selfId);
  const rivals = [
    ...(self ? [{ id: s.selfId, priority: self.priority }] : []),
    ...[...s.peers.values()]
      .filter((p) => p.alive && p.id !== hb.hostId && p.last)
      .map((p) => ({ id: p.id, priority: p.last!.priority })),
  ];
  const clash = rivals.find((r) => r.priority === hb.priority);
  if (!clash || hb.hostId < clash.id) return undefined;
  return `duplicate priority ${hb.priority} (also held by host ${hostName(s, clash.id)})`;
}

function refuse(s: NodeState, peer: Peer, reason: string, now: number, fx: Effect[]) {
  const fresh = peer.refused !== reason || now - (peer.refusedLoggedAt ?? -Infinity) > 60_000;
  peer.refused = reason;
  if (fresh) {
    peer.refusedLoggedAt = now;
    fx.push(log("warn", "peer.refused", `host ${hostName(s, peer.id)} not admitted: ${reason}`));
  }
  if (peer.alive) markDown(s, peer, `not admitted: ${reason}`, now, fx);
}

/**
 * A forged heartbeat naming a member, or from a member's address: most likely that host
 * holds another cluster key. Logged once a minute; the packet is unauthenticated, so it
 * changes nothing about the member's admission.
 */
function noteForgery(
  s: NodeState,
  hostId: number | undefined,
  from: string,
  now: number,
  fx: Effect[],
) {
  const peer = [...s.peers.values()].find((p) =>
    p.id === hostId || s.config.hosts.some((h) => h.id === p.id && h.address === from)
  );
  if (!peer || now - (peer.forgeryLoggedAt ?? -Infinity) < 60_000) return;
  peer.forgeryLoggedAt = now;
  const reason = "config mismatch: cluster key differs (its heartbeats fail authentication)";
  fx.push(
    log("warn", "config.mismatch", `host ${hostName(s, peer.id)} (${from}): ${reason}`, {
      field: "key",
    }),
  );
}

export function markDown(s: NodeState, peer: Peer, reason: string, now: number, fx: Effect[]) {
  peer.alive = false;
  peer.suspect = false;
  peer.downSince = now;
  fx.push(
    log("warn", "peer.down", `host ${hostName(s, peer.id)} is down: ${reason}`, {
      silentMs: now - peer.lastHeard,
    }),
  );
  recompute(s, `host ${hostName(s, peer.id)} ${reason}`, now, fx);
}

function onTimers(s: NodeState, now: number, fx: Effect[]) {
  const { periodMs, suspectMisses, deadMisses } = s.config.heartbeat;
  const suspectAfter = periodMs * suspectMisses, deadAfter = periodMs * deadMisses;
  let wake = Infinity;

  for (const p of s.peers.values()) {
    if (!p.alive) continue;
    const since = Math.max(p.lastHeard, s.listeningSince);
    const age = now - since;
    if (age >= suspectAfter) p.suspect = true;
    if (age >= deadAfter && confirmedDown(s, p)) {
      markDown(s, p, `missed ${Math.floor((now - p.lastHeard) / periodMs)} heartbeats`, now, fx);
      continue;
    }
    // A passed deadline (a death awaiting confirmation) is re-checked with each heartbeat.
    const due = since + (p.suspect ? deadAfter : suspectAfter);
    if (due > now) wake = Math.min(wake, due);
  }
  if (s.awaitingMap && now - s.startedAt >= deadAfter && !s.pendingFetch) {
    const established = [...s.peers.values()].some((p) => p.alive && p.last && p.last.epoch > 0);
    if (!established || now - s.startedAt >= 4 * deadAfter) {
      s.awaitingMap = false;
      fx.push(log("info", "view.cold_start", "no established view among peers: computing one"));
      recompute(s, "cold start", now, fx);
    }
  }
  if (s.awaitingMap && s.startedAt + deadAfter > now) {
    wake = Math.min(wake, s.startedAt + deadAfter);
  }
  if (s.admin === "draining" && s.drainDeadline !== undefined) {
    if (now >= s.drainDeadline) {
      s.admin = "stopped";
      s.drainDeadline = undefined;
      fx.push(log("info", "host.drained", "drain timeout reached: stopping"));
      refreshAgreement(s, now, fx);
    } else wake = Math.min(wake, s.drainDeadline);
  }
  if (s.pendingFetch && now - s.pendingFetch.at > 2000) s.pendingFetch = undefined;
  if (!s.leaving && now >= s.nextBeatAt) {
    sendHeartbeat(s, now, fx);
    s.nextBeatAt = now - s.nextBeatAt > periodMs ? now + periodMs : s.nextBeatAt + periodMs;
  }
  // The next heartbeat is always in the future, so the timer never spins.
  if (!s.leaving) fx.push({ kind: "armTimer", at: Math.min(wake, s.nextBeatAt) });
}

/** Every other live, unsuspected peer no longer hears `p` either (or there is none to ask). */
function confirmedDown(s: NodeState, p: Peer): boolean {
  const bit = s.hostBits.get(p.id);
  if (bit === undefined) return true;
  for (const q of s.peers.values()) {
    if (q === p || !q.alive || q.suspect || !q.last) continue;
    if (q.last.heard & (1 << bit)) return false;
  }
  return true;
}

/** A newer config: take it, keep what we know of peers that remain, and recompute. */
export function adoptConfig(
  s: NodeState,
  config: NodeState["config"],
  source: string,
  now: number,
  fx: Effect[],
) {
  if (config.version <= s.config.version || config.clusterId !== s.config.clusterId) return;
  const from = s.config.version;
  s.config = config;
  s.configDigest = configDigest(config);
  s.hostBits = hostIndex(config);
  const ids = new Set(config.hosts.map((h) => h.id));
  for (const id of [...s.peers.keys()]) if (!ids.has(id)) s.peers.delete(id);
  for (const h of config.hosts) {
    if (h.id !== s.selfId && !s.peers.has(h.id)) {
      s.peers.set(h.id, {
        id: h.id,
        alive: false,
        suspect: false,
        lastHeard: 0,
        incarnation: 0,
        seq: 0,
      });
    }
  }
  for (const p of s.peers.values()) if (p.refused?.startsWith("config")) p.refused = undefined;
  fx.push(
    log("info", "config.adopted", `config version ${from} -> ${config.version} (from ${source})`),
  );
  recompute(s, `config version ${config.version}`, now, fx);
}

function cloneState(s: NodeState): NodeState {
  const peers = new Map<number, Peer>();
  for (const [id, p] of s.peers) peers.set(id, { ...p });
  return { ...s, peers, drops: { ...s.drops } };
}
