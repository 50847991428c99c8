/**
 * The outgoing heartbeat: this host's state as its peers see it, sent to every member.
 */
import type { Effect } from "./effects.ts";
import {
  encodeHeartbeat,
  FLAG_AWAITING_MAP,
  FLAG_CONTENT_ERROR,
  FLAG_CONTENT_STALE,
  FLAG_UNHEALTHY,
  type Heartbeat,
} from "./heartbeat_codec.ts";
import type { NodeState } from "./node_state.ts";

export function sendHeartbeat(s: NodeState, now: number, fx: Effect[], flags = 0) {
  const self = s.config.hosts.find((h) => h.id === s.selfId);
  let heard = 0;
  for (const p of s.peers.values()) {
    const bit = s.hostBits.get(p.id);
    if (p.alive && !p.suspect && bit !== undefined) heard |= 1 << bit;
  }
  const hb: Heartbeat = {
    flags: flags | (s.awaitingMap ? FLAG_AWAITING_MAP : 0) | (s.healthy ? 0 : FLAG_UNHEALTHY) |
      (s.content.error ? FLAG_CONTENT_ERROR : 0) | (s.content.stale ? FLAG_CONTENT_STALE : 0),
    clusterId: s.clusterIdBytes,
    hostId: s.selfId,
    incarnation: s.incarnation,
    seq: ++s.seq,
    state: s.actual,
    priority: self?.priority ?? 0,
    weight: self?.weight ?? 0,
    configVersion: s.config.version,
    configDigest: s.configDigest,
    epoch: s.view.epoch,
    membersDigest: s.view.membersDigest,
    viewDigest: s.view.viewDigest,
    heard: heard >>> 0,
    content: {
      offered: s.content.offered,
      committed: s.content.committed,
      staged: s.content.staged,
      served: s.content.served,
    },
  };
  const to = s.config.hosts.filter((h) => h.id !== s.selfId).map((h) => h.address);
  s.lastSentAt = now;
  if (to.length > 0) fx.push({ kind: "send", to, bytes: encodeHeartbeat(hb, s.key) });
}
