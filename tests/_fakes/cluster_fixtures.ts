/**
 * Shared builders for the cluster core tests: a config with N hosts, heartbeats encoded
 * as host X would send them, a harness that drives one node through `step` with a
 * hand-held clock, and an in-memory network of real nodes (no sockets, no timers).
 */
import { createHmac } from "node:crypto";
import {
  type ClusterConfig,
  configDigest,
  DEFAULT_RULE,
  hostIndex,
} from "../../agent/cluster/config.ts";
import type { Effect, Input } from "../../agent/cluster/effects.ts";
import {
  decodeHeartbeat,
  encodeHeartbeat,
  type Heartbeat,
  hexToBytes,
} from "../../agent/cluster/heartbeat_codec.ts";
import { step, type StepResult } from "../../agent/cluster/membership.ts";
import { initialState, type NodeInit, type NodeState } from "../../agent/cluster/node_state.ts";
import { EMPTY_DIGEST, toSnapshot, type View } from "../../agent/cluster/view.ts";

export const CLUSTER_ID = "a1b2c3d4e5f60718";
export const CLUSTER_ID_BYTES = hexToBytes(CLUSTER_ID);
/** The cluster key every fixture host shares. */
export const KEY = new TextEncoder().encode("appliance test key, 32 bytes ok");
/** Another key: heartbeats sealed with it fail authentication (reason "forged"). */
export const OTHER_KEY = new TextEncoder().encode("some other cluster's key........");

/** Host i (1-based) has id 100+i, name h<i>, address 10.0.0.<i>, priority i, weight 50. */
export function hostId(i: number): number {
  return 100 + i;
}

export function makeConfig(n: number, patch: Partial<ClusterConfig> = {}): ClusterConfig {
  return {
    version: 1,
    clusterId: CLUSTER_ID,
    clusterIp: "198.18.0.10",
    mode: "shared",
    buckets: 1024,
    heartbeat: { periodMs: 50, suspectMisses: 3, deadMisses: 5, port: 7946 },
    peerPort: 7947,
    drainTimeoutMs: 60_000,
    hosts: Array.from({ length: n }, (_, k) => ({
      id: hostId(k + 1),
      name: `h${k + 1}`,
      address: `10.0.0.${k + 1}`,
      priority: k + 1,
      weight: 50,
    })),
    rules: [{ ...DEFAULT_RULE }],
    ...patch,
  };
}

export function addressOf(config: ClusterConfig, id: number): string {
  const h = config.hosts.find((h) => h.id === id);
  if (!h) throw new Error(`no host ${id} in the config`);
  return h.address;
}

/** Bitmap with the heard bit set for every host of the config (by config index). */
export function allHeard(config: ClusterConfig): number {
  let bits = 0;
  for (const bit of hostIndex(config).values()) bits |= 1 << bit;
  return bits >>> 0;
}

/** The heard bit of host `id` in `config`. */
export function bitOf(config: ClusterConfig, id: number): number {
  const bit = hostIndex(config).get(id);
  if (bit === undefined) throw new Error(`no host ${id} in the config`);
  return (1 << bit) >>> 0;
}

/**
 * A heartbeat as host `id` of `config` would send it: its priority and weight, the config's
 * version and digest, state converging, no view yet, everyone heard. `fields` override.
 */
export function heartbeat(
  config: ClusterConfig,
  id: number,
  fields: Partial<Heartbeat> = {},
): Heartbeat {
  const h = config.hosts.find((h) => h.id === id);
  return {
    flags: 0,
    clusterId: hexToBytes(config.clusterId),
    hostId: id,
    incarnation: 1,
    seq: 1,
    state: "converging",
    priority: h?.priority ?? 0,
    weight: h?.weight ?? 0,
    configVersion: config.version,
    configDigest: configDigest(config),
    epoch: 0,
    membersDigest: EMPTY_DIGEST,
    viewDigest: EMPTY_DIGEST,
    heard: allHeard(config),
    content: { offered: 0, committed: 0, staged: 0, served: 0 },
    ...fields,
  };
}

/** The heartbeat fields of a host that holds `view` and agrees on it. */
export function agreeing(view: View): Partial<Heartbeat> {
  return {
    state: "converged",
    epoch: view.epoch,
    membersDigest: view.membersDigest,
    viewDigest: view.viewDigest,
  };
}

/** Recomputes the MAC of a tampered packet, so only the tampered field is wrong. */
export function reseal(bytes: Uint8Array, key: Uint8Array = KEY): Uint8Array {
  const out = bytes.slice();
  out.set(createHmac("sha256", key).update(out.subarray(0, 80)).digest(), 80);
  return out;
}

/** Every heartbeat in `effects`, decoded, with where it went. */
export function sentHeartbeats(
  effects: Effect[],
  key: Uint8Array = KEY,
): (Heartbeat & { to: string[] })[] {
  const out: (Heartbeat & { to: string[] })[] = [];
  for (const e of effects) {
    if (e.kind !== "send") continue;
    const r = decodeHeartbeat(e.bytes, CLUSTER_ID_BYTES, key);
    if (!r.ok) throw new Error(`the core sent a heartbeat that does not decode: ${r.reason}`);
    out.push({ ...r.hb, to: e.to });
  }
  return out;
}

/** One short label per effect, e.g. "log:peer.down", "send", "applyBuckets". */
export function labels(effects: Effect[]): string[] {
  return effects.map((e) => e.kind === "log" ? `log:${e.type}` : e.kind);
}

export function logs(effects: Effect[], type?: string): Extract<Effect, { kind: "log" }>[] {
  return effects.filter((e): e is Extract<Effect, { kind: "log" }> =>
    e.kind === "log" && (type === undefined || e.type === type)
  );
}

export function only<K extends Effect["kind"]>(
  effects: Effect[],
  kind: K,
): Extract<Effect, { kind: K }>[] {
  return effects.filter((e): e is Extract<Effect, { kind: K }> => e.kind === kind);
}

/** A small deterministic PRNG (mulberry32) so property tests replay from their seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in lo..hi inclusive. */
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/**
 * Drives one node by hand: the test holds the clock and plays the peers, whose heartbeats
 * it encodes with a sequence number that grows per peer.
 */
export class NodeHarness {
  state: NodeState;
  now: number;
  #seq = new Map<number, number>();

  constructor(
    readonly config: ClusterConfig,
    selfId = hostId(1),
    now = 0,
    init: Partial<NodeInit> = {},
  ) {
    this.now = now;
    this.state = initialState({ selfId, incarnation: 1, key: KEY, config, ...init }, now);
  }

  /** When the core last asked to be woken (its latest `armTimer`). */
  wake = Infinity;

  step(input: Input, at = this.now): StepResult {
    if (at < this.now) throw new Error(`the clock went back from ${this.now} to ${at}`);
    this.now = at;
    const r = step(this.state, input, at);
    this.state = r.state;
    for (const e of r.effects) if (e.kind === "armTimer") this.wake = e.at;
    return r;
  }

  tick(at = this.now): StepResult {
    return this.step({ kind: "tick" }, at);
  }

  /**
   * Fires every timer the core arms up to `to` (exclusive), as the driver would, and returns
   * their effects. Then the test steps at `to` itself.
   */
  advance(to: number): Effect[] {
    const fx: Effect[] = [];
    while (this.wake < to) {
      fx.push(...this.tick(Math.max(this.wake, this.now)).effects);
      if (this.wake <= this.now) throw new Error(`armTimer(${this.wake}) at ${this.now}: a spin`);
    }
    this.now = Math.max(this.now, to);
    return fx;
  }

  /** Host `id` sends the next heartbeat of its incarnation, with `fields` overriding. */
  hear(id: number, fields: Partial<Heartbeat> = {}, at = this.now): StepResult {
    return this.step(this.packet(id, fields), at);
  }

  /** The next packet host `id` would send (its seq is consumed). */
  packet(id: number, fields: Partial<Heartbeat> = {}, key: Uint8Array = KEY): Input {
    const seq = fields.seq ?? (this.#seq.get(id) ?? 0) + 1;
    this.#seq.set(id, seq);
    const bytes = encodeHeartbeat(heartbeat(this.config, id, { seq, ...fields }), key);
    return { kind: "packet", bytes, from: addressOf(this.config, id) };
  }

  command(command: Extract<Input, { kind: "command" }>["command"], at = this.now): StepResult {
    return this.step({ kind: "command", command, by: "test" }, at);
  }
}

/**
 * A node of an n-host cluster (itself h1) that has heard every peer each period since t=0,
 * cold-started at t=250 and converged with them at epoch 1 (they report its view digest).
 * Its next heartbeat is due at t=300.
 */
export function convergedNode(n = 3, patch: Partial<ClusterConfig> = {}): NodeHarness {
  const h = new NodeHarness(makeConfig(n, patch));
  h.tick(0);
  for (let t = 0; t <= 200; t += 50) for (let i = 2; i <= n; i++) h.hear(hostId(i), {}, t);
  h.tick(250);
  for (let i = 2; i <= n; i++) h.hear(hostId(i), agreeing(h.state.view), 250);
  if (!h.state.converged) throw new Error("fixture: the node did not converge");
  return h;
}

interface StepRecord {
  id: number;
  now: number;
  input: Input["kind"];
  effects: Effect[];
}

/**
 * An in-memory network of real nodes. Every node is ticked every `tickMs`; what a node
 * sends is delivered at once (same clock), in order; `fetchMap` and `fetchConfig` are
 * answered from the target's current state. Nodes can crash and links can be cut.
 */
export class SimCluster {
  readonly nodes = new Map<number, NodeState>();
  readonly crashed = new Set<number>();
  /** Cut links, as "from>to" host ids. */
  readonly cut = new Set<string>();
  readonly history: StepRecord[] = [];
  now = 0;
  #queue: { id: number; input: Input }[] = [];
  #byAddress: Map<string, number>;

  constructor(readonly config: ClusterConfig, readonly tickMs = 10) {
    this.#byAddress = new Map(config.hosts.map((h) => [h.address, h.id]));
  }

  /** Starts (or restarts) host `id` at the current time. */
  start(id: number, incarnation = 1): void {
    this.crashed.delete(id);
    this.nodes.set(
      id,
      initialState({ selfId: id, incarnation, key: KEY, config: this.config }, this.now),
    );
    this.input(id, { kind: "tick" });
  }

  crash(id: number): void {
    this.crashed.add(id);
  }

  /** Feeds one input to a node and runs everything that follows from it at this instant. */
  input(id: number, input: Input): StepResult | undefined {
    const r = this.#step(id, input);
    this.#drain();
    return r;
  }

  /** The agent's shutdown: the core bows out, then the process is gone (as Driver.stop). */
  leave(id: number): StepResult | undefined {
    const r = this.#step(id, { kind: "command", command: "leave", by: "sim" });
    this.crashed.add(id);
    this.#drain();
    return r;
  }

  #step(id: number, input: Input): StepResult | undefined {
    const s = this.nodes.get(id);
    if (!s || this.crashed.has(id)) return undefined;
    const r = step(s, input, this.now);
    this.nodes.set(id, r.state);
    this.history.push({ id, now: this.now, input: input.kind, effects: r.effects });
    for (const e of r.effects) this.#route(id, e);
    return r;
  }

  #drain(): void {
    for (let n = 0; this.#queue.length > 0; n++) {
      if (n > 10_000) throw new Error("sim: effects never settle");
      const { id, input } = this.#queue.shift()!;
      this.#step(id, input);
    }
  }

  /** Advances the clock to `t`, ticking every live node every `tickMs`. */
  runUntil(t: number, check?: () => void): void {
    while (this.now < t) {
      this.now = Math.min(t, this.now + this.tickMs);
      for (const id of [...this.nodes.keys()].sort((a, b) => a - b)) {
        this.input(id, { kind: "tick" });
        check?.();
      }
    }
  }

  /** Runs until `done()` holds or `limit` ms pass; returns when it held. */
  runWhile(pending: () => boolean, limit: number): number {
    const end = this.now + limit;
    while (pending()) {
      if (this.now >= end) throw new Error(`sim: still pending after ${limit} ms`);
      this.runUntil(this.now + this.tickMs);
    }
    return this.now;
  }

  node(id: number): NodeState {
    return this.nodes.get(id)!;
  }

  live(): NodeState[] {
    return [...this.nodes.values()].filter((s) => !this.crashed.has(s.selfId));
  }

  allConverged(): boolean {
    return this.live().every((s) => s.converged);
  }

  #route(from: number, e: Effect): void {
    if (e.kind === "send") {
      for (const addr of e.to) {
        const to = this.#byAddress.get(addr);
        if (to === undefined || this.cut.has(`${from}>${to}`)) continue;
        this.#queue.push({
          id: to,
          input: { kind: "packet", bytes: e.bytes, from: addressOf(this.config, from) },
        });
      }
    } else if (e.kind === "fetchMap" || e.kind === "fetchConfig") {
      const peer = this.nodes.get(e.hostId);
      if (!peer || this.crashed.has(e.hostId) || this.cut.has(`${e.hostId}>${from}`)) {
        const what = e.kind === "fetchMap" ? "map" : "config";
        this.#queue.push({
          id: from,
          input: { kind: "fetchFailed", hostId: e.hostId, what, error: "unreachable" },
        });
      } else if (e.kind === "fetchMap") {
        const snapshot = toSnapshot(peer.view, peer.config.version);
        this.#queue.push({ id: from, input: { kind: "snapshot", hostId: e.hostId, snapshot } });
      } else {
        this.#queue.push({
          id: from,
          input: e.reason === "newer"
            ? { kind: "config", config: peer.config, source: `host #${e.hostId}` }
            : { kind: "peerConfig", hostId: e.hostId, config: peer.config },
        });
      }
    }
  }
}

/** A cluster of `n` hosts started together at t=0 and run until all have converged. */
export function convergedCluster(n: number, config = makeConfig(n)): SimCluster {
  const sim = new SimCluster(config);
  for (let i = 1; i <= n; i++) sim.start(hostId(i));
  sim.runWhile(() => !sim.allConverged(), 2_000);
  return sim;
}
