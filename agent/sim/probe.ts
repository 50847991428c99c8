/**
 * What a scenario measures, attached to a running cluster: every up/down mark, the false
 * suspicions among the downs (see health.ts) and duplicate owners (see ownership.ts).
 */
import type { SimCluster, SimEvent, SimHost } from "./cluster.ts";
import { isFalseSuspicion } from "./health.ts";
import { OwnershipWatch } from "./ownership.ts";

export interface Mark {
  type: "up" | "down";
  at: number;
  observer: SimHost;
  subject: SimHost;
  /** For downs: the subject was healthy and reachable (a false suspicion). */
  false: boolean;
}

export class Probe {
  readonly marks: Mark[] = [];
  readonly ownership: OwnershipWatch;
  #c: SimCluster;
  #stop: () => void;

  constructor(cluster: SimCluster) {
    this.#c = cluster;
    this.ownership = new OwnershipWatch(cluster);
    this.#stop = cluster.observe((e) => this.#on(e));
  }

  /**
   * A pause is tolerated when shorter than (deadMisses - 1) periods: the host's next beat
   * still lands before the dead deadline. A mark is judged over the last
   * (deadMisses + 2) periods, the time it takes to earn one.
   */
  get tolerance(): { windowMs: number; pauseToleranceMs: number } {
    const { periodMs, deadMisses } = this.#c.config.heartbeat;
    return { windowMs: (deadMisses + 2) * periodMs, pauseToleranceMs: (deadMisses - 1) * periodMs };
  }

  get falseSuspicions(): Mark[] {
    return this.marks.filter((m) => m.false);
  }

  /** The first mark at or after `since` that satisfies `match`. */
  first(since: number, match: (m: Mark) => boolean): Mark | undefined {
    return this.marks.find((m) => m.at >= since && match(m));
  }

  stop(): void {
    this.#stop();
    this.ownership.stop();
  }

  #on(e: SimEvent) {
    if (e.type !== "up" && e.type !== "down") return;
    const at = this.#c.now;
    const wrong = e.type === "down" &&
      isFalseSuspicion(this.#c.faults, e.observer.index, e.subject.index, at, this.tolerance);
    this.marks.push({ type: e.type, at, observer: e.observer, subject: e.subject, false: wrong });
  }
}
