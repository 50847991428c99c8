/**
 * Duplicate owners: watches every host's applied plan and accumulates the virtual time
 * during which one bucket of a `multiple` rule (or a `single` rule, or the default-host
 * role) is held by two hosts at once.
 *
 * One case is excused: a *split brain*. Once a host has marked a live (running or paused)
 * host down, or does not count it alive at all (it restarted or joined while the other was
 * frozen or cut off), the two may both hold the same buckets — each believes the other
 * gone, as after a partition or a pause past the timeout — until the cluster next converges
 * as a whole. The core cannot avoid that without a quorum; everything else counts, even a
 * duplicate that lasts 0 ms (taken before released, within one virtual instant).
 */
import type { BucketPlan } from "../cluster/effects.ts";
import type { SimCluster, SimEvent } from "./cluster.ts";

export interface Duplicate {
  at: number;
  /** Rule id, "single:<id>" or "default-host". */
  what: string;
  bucket: number;
  hosts: string[];
}

export class OwnershipWatch {
  #c: SimCluster;
  #excused = new Set<string>();
  #violating = false;
  #since = 0;
  #totalMs = 0;
  /** The first unexcused duplicate seen, for a test's failure message. */
  first?: Duplicate;
  #splitSince?: number;
  #splitMs = 0;
  readonly stop: () => void;

  constructor(cluster: SimCluster) {
    this.#c = cluster;
    this.stop = cluster.observe((e) => this.#on(e));
  }

  /** Unexcused duplicate-owner time so far, in virtual ms. */
  get duplicateMs(): number {
    return this.#totalMs + (this.#violating ? this.#c.now - this.#since : 0);
  }

  /** Split-brain time (excused duplicates) so far, for information. */
  get splitMs(): number {
    return this.#splitMs + (this.#splitSince === undefined ? 0 : this.#c.now - this.#splitSince);
  }

  /** Re-reads every host's plan now (after a test changed one by hand). */
  check(): void {
    this.#update();
  }

  #on(e: SimEvent) {
    if (e.type === "down" && live(e.subject.status)) {
      this.#excused.add(pair(e.observer.index, e.subject.index));
      this.#update();
    } else if (e.type === "plan") {
      this.#update();
    } else if (e.type === "step" && this.#excused.size > 0 && this.#c.agreement()) {
      this.#excused.clear();
      this.#update();
    }
  }

  #update() {
    const now = this.#c.now;
    const { dup, split } = this.#scan();
    if (dup && !this.#violating) this.#since = now, this.first ??= { ...dup, at: now };
    if (!dup && this.#violating) this.#totalMs += now - this.#since;
    this.#violating = !!dup;
    if (split && this.#splitSince === undefined) this.#splitSince = now;
    if (!split && this.#splitSince !== undefined) {
      this.#splitMs += now - this.#splitSince;
      this.#splitSince = undefined;
    }
  }

  #scan(): { dup?: Omit<Duplicate, "at">; split: boolean } {
    const holders = new Map<string, number[][]>();
    const hold = (what: string, bucket: number, host: number) => {
      let rows = holders.get(what);
      if (!rows) holders.set(what, rows = []);
      (rows[bucket] ??= []).push(host);
    };
    for (const h of this.#c.hosts) {
      const plan: BucketPlan | undefined = h.plan;
      if (!plan) continue;
      for (const [rule, buckets] of Object.entries(plan.owned)) {
        for (const b of buckets) hold(rule, b, h.index);
      }
      for (const [rule, mine] of Object.entries(plan.single)) {
        if (mine) hold(`single:${rule}`, 0, h.index);
      }
      if (plan.defaultHost) hold("default-host", 0, h.index);
    }
    let split = false;
    let dup: Omit<Duplicate, "at"> | undefined;
    for (const [what, rows] of holders) {
      for (let bucket = 0; bucket < rows.length; bucket++) {
        const hs = rows[bucket];
        if (!hs || hs.length < 2) continue;
        for (let i = 0; i < hs.length; i++) {
          for (let j = i + 1; j < hs.length; j++) {
            if (this.#split(hs[i], hs[j])) split = true;
            else dup ??= { what, bucket, hosts: [hs[i], hs[j]].map((x) => this.#c.hosts[x].name) };
          }
        }
      }
    }
    return { dup, split };
  }

  /**
   * Whether a and b are in a split brain: one has marked the other down since the cluster
   * last converged, or one does not count the other alive now (a host that restarted or
   * joined while the other was frozen or cut off never saw it). It sticks until the next
   * convergence, which is when both sides have dropped what they took from each other.
   */
  #split(a: number, b: number): boolean {
    const key = pair(a, b);
    if (this.#excused.has(key)) return true;
    const [ha, hb] = [this.#c.hosts[a], this.#c.hosts[b]];
    const sees = (x: typeof ha, y: typeof ha) => x.state?.peers.get(y.id)?.alive === true;
    if (sees(ha, hb) && sees(hb, ha)) return false;
    this.#excused.add(key);
    return true;
  }
}

function live(status: string): boolean {
  return status === "running" || status === "paused";
}

function pair(a: number, b: number): string {
  return a < b ? `${a},${b}` : `${b},${a}`;
}
