/**
 * A fake datagram network between simulated hosts, keyed by address. Every packet is lost
 * with probability `loss`, else arrives after `delayMs` ± a uniform jitter; a partition
 * splits the hosts into groups that cannot reach each other (symmetric). All draws come
 * from the seeded generator, in send order, so a run is reproducible.
 */
import type { Prng } from "./prng.ts";

export interface NetworkSettings {
  /** Probability that one datagram is lost, 0..1. Default 0. */
  loss: number;
  /** One-way delay in ms. Default 1 (a LAN with a busy switch). */
  delayMs: number;
  /**
   * Each datagram's delay is delayMs + uniform(-jitterMs, +jitterMs), never below 0.
   * Default 0. Jitter can reorder datagrams; the core drops the older one as "replayed".
   */
  jitterMs: number;
}

export const DEFAULT_NETWORK: NetworkSettings = { loss: 0, delayMs: 1, jitterMs: 0 };

/** Counters per fate, for reports and the loss-rate test. */
export interface NetworkStats {
  sent: number;
  delivered: number;
  lost: number;
  blocked: number;
}

export class FakeNetwork {
  #rng: Prng;
  #settings: NetworkSettings;
  /** Address -> partition group; an address in no group reaches everyone. */
  #group = new Map<string, number>();
  readonly stats: NetworkStats = { sent: 0, delivered: 0, lost: 0, blocked: 0 };

  constructor(rng: Prng, settings: Partial<NetworkSettings> = {}) {
    this.#rng = rng;
    this.#settings = checkSettings({ ...DEFAULT_NETWORK, ...settings });
  }

  get settings(): NetworkSettings {
    return { ...this.#settings };
  }

  configure(settings: Partial<NetworkSettings>): void {
    this.#settings = checkSettings({ ...this.#settings, ...settings });
  }

  /** Splits the network: hosts in different groups cannot reach each other. */
  partition(groups: string[][]): void {
    this.#group.clear();
    groups.forEach((g, i) => {
      for (const address of g) {
        if (this.#group.has(address)) {
          throw new Error(`partition: ${address} is in two groups; list each host once`);
        }
        this.#group.set(address, i);
      }
    });
  }

  heal(): void {
    this.#group.clear();
  }

  get partitioned(): boolean {
    return this.#group.size > 0;
  }

  canReach(a: string, b: string): boolean {
    const ga = this.#group.get(a), gb = this.#group.get(b);
    return ga === undefined || gb === undefined || ga === gb;
  }

  /** When a datagram sent now from `from` to `to` arrives, or undefined if it is dropped. */
  route(from: string, to: string, now: number): number | undefined {
    this.stats.sent++;
    if (!this.canReach(from, to)) {
      this.stats.blocked++;
      return undefined;
    }
    const { loss, delayMs, jitterMs } = this.#settings;
    if (loss > 0 && this.#rng.chance(loss)) {
      this.stats.lost++;
      return undefined;
    }
    this.stats.delivered++;
    return now + this.delay(delayMs, jitterMs);
  }

  /**
   * One leg of a request over the peer API (TCP retransmits, so no loss): its delay, or
   * undefined when a partition stands between the two hosts.
   */
  streamDelay(from: string, to: string): number | undefined {
    if (!this.canReach(from, to)) return undefined;
    return this.delay(this.#settings.delayMs, this.#settings.jitterMs);
  }

  delay(delayMs: number, jitterMs: number): number {
    if (jitterMs <= 0) return delayMs;
    return Math.max(0, delayMs + this.#rng.between(-jitterMs, jitterMs));
  }
}

function checkSettings(s: NetworkSettings): NetworkSettings {
  if (!(s.loss >= 0 && s.loss <= 1)) throw new Error(`loss must be 0..1, got ${s.loss}`);
  if (!(s.delayMs >= 0)) throw new Error(`delayMs must be >= 0, got ${s.delayMs}`);
  if (!(s.jitterMs >= 0)) throw new Error(`jitterMs must be >= 0, got ${s.jitterMs}`);
  return s;
}
