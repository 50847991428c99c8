/**
 * Config agreement by version. A heartbeat carries (config version, config digest):
 *   - a higher version than ours: fetch it and adopt it (a normal edit, never a mismatch);
 *   - the same version with another digest: a mismatch; the peer is not admitted and we
 *     fetch its config once to name the fields that differ;
 *   - a lower version: the peer will fetch ours.
 */
import type { Effect } from "./effects.ts";
import { type ClusterConfig, configDiff, configDigest } from "./config.ts";
import { equalBytes, type Heartbeat } from "./heartbeat_codec.ts";
import type { NodeState, Peer } from "./node_state.ts";
import { hostName } from "./node_state.ts";
import { log } from "./_log.ts";

/** Returns the reason to refuse the peer, or undefined to admit it. */
export function checkPeerConfig(
  s: NodeState,
  peer: Peer,
  hb: Heartbeat,
  now: number,
  fx: Effect[],
): string | undefined {
  const address = s.config.hosts.find((h) => h.id === peer.id)?.address;
  if (hb.configVersion > s.config.version) {
    if (!s.pendingFetch && address) {
      s.pendingFetch = { hostId: peer.id, what: "config", at: now };
      fx.push({ kind: "fetchConfig", hostId: peer.id, address, reason: "newer" });
    }
    return undefined;
  }
  if (hb.configVersion < s.config.version || equalBytes(hb.configDigest, s.configDigest)) {
    return undefined;
  }
  const reason = `config mismatch at version ${hb.configVersion}`;
  if (!peer.refused?.startsWith("config mismatch") && !s.pendingFetch && address) {
    s.pendingFetch = { hostId: peer.id, what: "config", at: now };
    fx.push({ kind: "fetchConfig", hostId: peer.id, address, reason: "mismatch" });
  }
  return reason;
}

/** Logs which fields differ between our config and a peer's at the same version. */
export function describeMismatch(
  s: NodeState,
  hostId: number,
  config: ClusterConfig,
  _now: number,
  fx: Effect[],
) {
  if (s.pendingFetch?.hostId === hostId) s.pendingFetch = undefined;
  if (config.version !== s.config.version) return;
  if (equalBytes(configDigest(config), s.configDigest)) return;
  const fields = configDiff(s.config, config);
  fx.push(log(
    "warn",
    "config.mismatch",
    `config mismatch with host ${hostName(s, hostId)} at version ${config.version}: ` +
      `${
        fields.join(", ")
      } differ (fix: \`appliance config set\` on one host; the higher version is adopted everywhere)`,
    { host: hostName(s, hostId), fields },
  ));
}
