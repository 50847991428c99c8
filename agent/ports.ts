/**
 * The agent's ports: the small interfaces between the driver and the outside world.
 * Real adapters live in agent/adapters/ and are chosen in main.ts; fakes live in
 * tests/_fakes/. The cluster core (agent/cluster/) sees none of these: it returns effects.
 */
import type { BucketPlan, Handoff } from "./cluster/effects.ts";
import type { ClusterConfig } from "./cluster/config.ts";
import type { ViewSnapshot } from "./cluster/view.ts";

/** Heartbeat datagrams to and from peers. */
export interface Transport {
  /** Sends one datagram to each address (heartbeat port). Never throws: failures are counted. */
  send(to: string[], bytes: Uint8Array): void;
  /** Registers the one receiver. */
  onPacket(receive: (bytes: Uint8Array, from: string) => void): void;
  close(): Promise<void>;
}

/** Monotonic time and timers. */
export interface Clock {
  /** Milliseconds on a monotonic clock (not wall time). */
  now(): number;
  /** Wall-clock milliseconds since the epoch, for event timestamps. */
  wallNow(): number;
  /** Calls `fn` at monotonic time `at` (or at once if past); replaces any earlier timer. */
  setTimer(at: number, fn: () => void): void;
  clearTimer(): void;
}

/** Requests to a peer's API (HTTPS in production). */
export interface PeerClient {
  fetchView(address: string): Promise<ViewSnapshot>;
  fetchConfig(address: string): Promise<ClusterConfig>;
  pushConfig(address: string, config: ClusterConfig): Promise<void>;
}

/** Where the bucket plan takes effect (nftables in the dataplane; a recorder without it). */
export interface RuleApplier {
  /** Puts the plan into effect; `handoff`: the buckets it released, and who owns them now. */
  apply(plan: BucketPlan, handoff?: Handoff): Promise<void>;
  /** Called on every heartbeat tick: renews kernel leases when due (cheap when not). */
  refresh(): Promise<void>;
  /** Removes everything this agent put on the host. */
  clear(): Promise<void>;
  /**
   * Established connections to the cluster IP on this host, so a drainstop can end as soon
   * as they are gone; absent where there is no dataplane (the drain then runs to its timeout).
   */
  established?(): Promise<number>;
  /**
   * Watches the host's network for faults (the cluster interface missing or down): reports a
   * reason, or null when it is usable again. Returns the unwatch. Absent without a dataplane.
   */
  watch?(report: (fault: string | null) => void): () => void;
  /**
   * Named counters since start (`rule_<id>`: new connections accepted by that rule; the
   * others: drops per reason), for the panel's traffic chart; absent without a dataplane.
   */
  traffic?(): Promise<Record<string, { packets: number; bytes: number }>>;
}
