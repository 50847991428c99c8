/**
 * The bucket map of one `multiple` port rule: B buckets, each owned by one host id
 * (0 = unassigned). A flow's bucket is `jhash(flow) mod B`; its owner takes it.
 *
 * `rebalance(prev, weights)` is the only way a map changes. It is a pure function of the
 * previous agreed map and the eligible hosts' weights, and it guarantees:
 *
 *   - balance: each host ends with floor(x) or ceil(x) buckets, x = B·w/W, i.e. within one
 *     bucket of its exact weight share; with unequal weights a leave may leave a host one
 *     bucket below floor(x) (rather than move a survivor's bucket). With equal load and
 *     B ≥ N(N-1) (1024 ≥ 32·31) a leave never does, so a 32-host equal cluster is always
 *     within one bucket: ±3.2 % of its share. In general the bound is ±2 buckets, within
 *     ±5 % for any host whose ideal is at least 40 buckets.
 *   - a leave moves only the leaver's buckets: survivors' caps ceil(x) only grow, so none
 *     has to give anything up, and orphans refill floors first.
 *   - a join moves about B/N buckets: only the surplus over the new caps, then any
 *     remaining floor deficit of the newcomer, taken from hosts above their floor.
 *   - idempotence: rebalance(rebalance(m, w), w) equals rebalance(m, w).
 *
 * Ties and choices use a rendezvous score hash(bucket, host), so equal inputs give equal
 * maps on every host (leaderless convergence).
 */

export type BucketMap = Uint32Array;

/** Rendezvous score of (bucket, host): a 32-bit mix, higher is preferred. */
export function score(bucket: number, hostId: number): number {
  let x = Math.imul(bucket + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(hostId, 0xc2b2ae35);
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

export interface Quota {
  lo: number;
  hi: number;
}

/** floor/ceil of each host's exact share B·w/W. Hosts of weight 0 are left out. */
export function quotas(weights: Map<number, number>, buckets: number): Map<number, Quota> {
  let total = 0;
  for (const w of weights.values()) total += w;
  const out = new Map<number, Quota>();
  if (total <= 0) return out;
  for (const [id, w] of weights) {
    if (w <= 0) continue;
    const x = (buckets * w) / total;
    const lo = Math.floor(x + 1e-9);
    out.set(id, { lo, hi: Math.abs(x - lo) < 1e-9 ? lo : lo + 1 });
  }
  return out;
}

export function rebalance(prev: BucketMap, weights: Map<number, number>): BucketMap {
  const B = prev.length;
  const q = quotas(weights, B);
  const map = prev.slice();
  if (q.size === 0) return map.fill(0);
  const count = new Map<number, number>([...q.keys()].map((id) => [id, 0]));

  // 1. Orphan buckets whose owner is gone or not eligible.
  for (let b = 0; b < B; b++) {
    const c = count.get(map[b]);
    if (c === undefined) map[b] = 0;
    else count.set(map[b], c + 1);
  }
  const before = new Map(count);
  const lost = new Set<number>();
  // 2. Hosts over their cap release their lowest-scored buckets.
  for (const [id, { hi }] of q) {
    const surplus = count.get(id)! - hi;
    if (surplus <= 0) continue;
    const mine = ownedBy(map, id).sort((a, b) => score(a, id) - score(b, id));
    for (const b of mine.slice(0, surplus)) map[b] = 0;
    count.set(id, hi);
    lost.add(id);
  }
  // 3. Orphans go, in bucket order, to the best-scored host below its floor, else below its cap.
  const ids = [...q.keys()].sort((a, b) => a - b);
  for (let b = 0; b < B; b++) {
    if (map[b] !== 0) continue;
    const pick = best(b, ids, (id) => count.get(id)! < q.get(id)!.lo) ??
      best(b, ids, (id) => count.get(id)! < q.get(id)!.hi)!;
    map[b] = pick;
    count.set(pick, count.get(pick)! + 1);
  }
  // 4. A host below its floor (a newcomer) takes its best buckets from hosts above theirs.
  //    One bucket short is tolerated for a host that held buckets and lost none here: that
  //    is what a weighted leave can leave behind, and filling it would move a survivor's
  //    bucket.
  for (const id of ids) {
    const short = q.get(id)!.lo - count.get(id)!;
    if (short <= 0 || (short === 1 && (before.get(id) ?? 0) > 0 && !lost.has(id))) continue;
    let need = short;
    const order = Array.from({ length: B }, (_, b) => b).sort((a, b) =>
      score(b, id) - score(a, id)
    );
    for (const b of order) {
      if (need === 0) break;
      const owner = map[b];
      if (owner === id || count.get(owner)! <= q.get(owner)!.lo) continue;
      count.set(owner, count.get(owner)! - 1);
      lost.add(owner);
      map[b] = id;
      count.set(id, count.get(id)! + 1);
      need--;
    }
  }
  return map;
}

function best(bucket: number, ids: number[], ok: (id: number) => boolean): number | undefined {
  let pick: number | undefined, top = -1;
  for (const id of ids) {
    if (!ok(id)) continue;
    const s = score(bucket, id);
    if (s > top) top = s, pick = id;
  }
  return pick;
}

export function ownedBy(map: BucketMap, id: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < map.length; b++) if (map[b] === id) out.push(b);
  return out;
}

/** Number of buckets whose owner differs between two maps of equal size. */
export function moved(a: BucketMap, b: BucketMap): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** Buckets per owner. */
export function shares(map: BucketMap): Map<number, number> {
  const out = new Map<number, number>();
  for (const id of map) if (id !== 0) out.set(id, (out.get(id) ?? 0) + 1);
  return out;
}
