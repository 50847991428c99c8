/**
 * A view: the hosts eligible for new connections, and the bucket map of every `multiple`
 * rule derived from them. Hosts that agree on the view agree on who owns every bucket.
 *
 * Two digests travel in heartbeats:
 *   - membersDigest covers the eligible set only, so a host can tell "we disagree on who is
 *     alive" (wait for liveness to settle) from "we agree on who is alive but computed
 *     different maps" (adopt the higher epoch's map);
 *   - viewDigest covers the members and every map; equal view digests mean converged.
 *
 * Pure: no I/O.
 */
import { createHash } from "node:crypto";
import type { ClusterConfig, PortRule } from "./config.ts";
import { type BucketMap, moved, rebalance } from "./bucket_map.ts";

export interface View {
  epoch: number;
  /** Sorted ids of the hosts eligible for new connections. */
  members: number[];
  /** One map per `multiple` rule, by rule id. */
  maps: Record<string, BucketMap>;
  membersDigest: Uint8Array;
  viewDigest: Uint8Array;
}

export const EMPTY_DIGEST = new Uint8Array(8);

export function emptyView(): View {
  return { epoch: 0, members: [], maps: {}, membersDigest: EMPTY_DIGEST, viewDigest: EMPTY_DIGEST };
}

/** The weight each member carries in one rule; weight 0 hosts get no buckets. */
export function ruleWeights(
  config: ClusterConfig,
  rule: PortRule,
  members: number[],
): Map<number, number> {
  const byId = new Map(config.hosts.map((h) => [h.id, h]));
  const out = new Map<number, number>();
  for (const id of members) {
    const h = byId.get(id);
    if (!h || h.weight <= 0) continue;
    out.set(id, rule.load === "equal" ? 1 : h.weight);
  }
  return out;
}

/**
 * The view for `members`, rebalanced from `base` (the previous map). The epoch is given by
 * the caller: membership bumps it on a change and takes a peer's on adoption.
 */
export function computeView(
  base: Pick<View, "maps">,
  config: ClusterConfig,
  members: number[],
  epoch: number,
): View {
  const sorted = [...new Set(members)].sort((a, b) => a - b);
  const maps: Record<string, BucketMap> = {};
  for (const rule of config.rules) {
    if (rule.mode !== "multiple") continue;
    const prev = base.maps[rule.id];
    const start = prev && prev.length === config.buckets ? prev : new Uint32Array(config.buckets);
    maps[rule.id] = rebalance(start, ruleWeights(config, rule, sorted));
  }
  return {
    epoch,
    members: sorted,
    maps,
    membersDigest: membersDigest(sorted),
    viewDigest: viewDigest(sorted, maps),
  };
}

export function membersDigest(members: number[]): Uint8Array {
  const h = createHash("sha256");
  h.update(u32s(members));
  return new Uint8Array(h.digest().subarray(0, 8));
}

export function viewDigest(members: number[], maps: Record<string, BucketMap>): Uint8Array {
  const h = createHash("sha256");
  h.update(u32s(members));
  for (const id of Object.keys(maps).sort()) {
    h.update(new TextEncoder().encode(id));
    h.update(new Uint8Array(maps[id].buffer, maps[id].byteOffset, maps[id].byteLength));
  }
  return new Uint8Array(h.digest().subarray(0, 8));
}

function u32s(ids: number[]): Uint8Array {
  const out = new Uint8Array(ids.length * 4);
  const dv = new DataView(out.buffer);
  ids.forEach((id, i) => dv.setUint32(i * 4, id));
  return out;
}

/** Buckets that changed owner between two views, summed over rules present in both. */
export function bucketsMoved(a: View, b: View): number {
  let n = 0;
  for (const id of Object.keys(b.maps)) {
    if (a.maps[id] && a.maps[id].length === b.maps[id].length) n += moved(a.maps[id], b.maps[id]);
  }
  return n;
}

/** Highest-priority (lowest number) member: owner of `single` rules and the default host. */
export function topPriority(config: ClusterConfig, members: number[]): number | undefined {
  const set = new Set(members);
  const hosts = config.hosts.filter((h) => set.has(h.id)).sort((a, b) => a.priority - b.priority);
  return hosts[0]?.id;
}

/** A view as it travels over the peer API (JSON), for a newcomer or a losing tie-break. */
export interface ViewSnapshot {
  epoch: number;
  configVersion: number;
  members: number[];
  maps: Record<string, number[]>;
}

export function toSnapshot(v: View, configVersion: number): ViewSnapshot {
  const maps: Record<string, number[]> = {};
  for (const [id, m] of Object.entries(v.maps)) maps[id] = Array.from(m);
  return { epoch: v.epoch, configVersion, members: v.members, maps };
}

export function fromSnapshot(s: ViewSnapshot, buckets: number): Pick<View, "maps"> | string {
  if (!Number.isInteger(s.epoch) || s.epoch < 0) return "epoch is not a non-negative integer";
  const maps: Record<string, BucketMap> = {};
  for (const [id, arr] of Object.entries(s.maps ?? {})) {
    if (!Array.isArray(arr) || arr.length !== buckets) {
      return `map ${id} does not have ${buckets} buckets`;
    }
    maps[id] = Uint32Array.from(arr);
  }
  return { maps };
}
