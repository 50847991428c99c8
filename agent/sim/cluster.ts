/**
 * A simulated cluster: N hosts, each a pure core driven by `step`, on a fake network, in
 * virtual time. One agenda (a heap ordered by time, then scheduling order) holds every
 * packet, timer and peer-API exchange; `runUntil` pops them in order. Faults (crash,
 * restart, pause, leave, join, partitions, loss) are methods, recorded in `faults` so
 * metrics can tell a healthy host from one that was failed on purpose. Host life cycle:
 * see sim_host.ts; the peer API's answers: _peer_api.ts.
 */
import type { ClusterConfig } from "../cluster/config.ts";
import type { AdminCommand, BucketPlan, Effect, Input } from "../cluster/effects.ts";
import { step, type StepResult } from "../cluster/membership.ts";
import { initialState, type NodeState } from "../cluster/node_state.ts";
import type { View } from "../cluster/view.ts";
import { equalBytes } from "../cluster/heartbeat_codec.ts";
import { EventQueue } from "./event_queue.ts";
import { FakeNetwork, type NetworkSettings } from "./network.ts";
import { Prng } from "./prng.ts";
import { simConfig, simKey } from "./sim_config.ts";
import { answer, failed } from "./_peer_api.ts";
import type { Fault, Item, SimEvent, SimHost } from "./sim_host.ts";

export type { Fault, HostStatus, SimEvent, SimHost } from "./sim_host.ts";

/** A peer-API request that finds no route gives up after this long (the client timeout). */
export const FETCH_TIMEOUT_MS = 1000;
/** More events than this at one virtual instant means the hosts are in a livelock. */
export const MAX_EVENTS_PER_INSTANT = 100_000;

export interface SimOptions {
  hosts: number;
  seed: number;
  network?: Partial<NetworkSettings>;
  /** Edits the generated config before any host starts (e.g. more rules). */
  editConfig?: (config: ClusterConfig) => void;
}

export class SimCluster {
  readonly config: ClusterConfig;
  readonly key: Uint8Array;
  readonly hosts: SimHost[];
  readonly network: FakeNetwork;
  /** Every fault, in order; a partition's `until` is set when it heals. */
  readonly faults: Fault[] = [];
  /** The generator for scenario choices; the network and config draw from their own. */
  readonly rng: Prng;
  now = 0;
  steps = 0;
  #agenda = new EventQueue<Item>();
  #byAddress = new Map<string, SimHost>();
  #byId = new Map<number, SimHost>();
  #listeners: ((e: SimEvent) => void)[] = [];
  #partition?: Extract<Fault, { kind: "partition" }>;
  #sameInstant = 0;

  constructor(opts: SimOptions) {
    const root = new Prng(opts.seed);
    const setup = root.fork();
    this.network = new FakeNetwork(root.fork(), opts.network);
    this.rng = root.fork();
    this.config = simConfig(opts.hosts, setup);
    opts.editConfig?.(this.config);
    this.key = simKey(setup);
    this.hosts = this.config.hosts.map((h, index) => ({
      index,
      id: h.id,
      name: h.name,
      address: h.address,
      status: "off",
      incarnation: 0,
      life: 0,
      timer: 0,
      held: [],
      pauseToken: 0,
      pausedUntil: 0,
    }));
    for (const h of this.hosts) this.#byAddress.set(h.address, h), this.#byId.set(h.id, h);
  }

  /** Subscribes to steps, plans, up/down marks and faults; returns the unsubscribe. */
  observe(fn: (e: SimEvent) => void): () => void {
    this.#listeners.push(fn);
    return () => void (this.#listeners = this.#listeners.filter((f) => f !== fn));
  }

  host(index: number): SimHost {
    const h = this.hosts[index];
    if (!h) throw new Error(`no host index ${index}: the cluster has ${this.hosts.length}`);
    return h;
  }

  byId(id: number): SimHost | undefined {
    return this.#byId.get(id);
  }

  /** Hosts whose process exists (running or paused). */
  live(): SimHost[] {
    return this.hosts.filter((h) => h.status === "running" || h.status === "paused");
  }

  /** The view every live host has converged on, or undefined while they disagree. */
  agreement(): View | undefined {
    let view: View | undefined;
    for (const h of this.hosts) {
      if (h.status !== "running" && h.status !== "paused") continue;
      const s = h.state!;
      if (!s.converged || s.awaitingMap) return undefined;
      if (!view) view = s.view;
      else if (!equalBytes(view.viewDigest, s.view.viewDigest)) return undefined;
    }
    return view;
  }

  /** Runs `fn` at virtual time `at` (after the events already scheduled for that instant). */
  at(at: number, fn: () => void): void {
    this.#agenda.push(Math.max(at, this.now), { kind: "action", fn });
  }

  runUntil(t: number): void {
    while (this.#agenda.peekTime() <= t) this.#next();
    this.now = Math.max(this.now, t);
  }

  runFor(ms: number): void {
    this.runUntil(this.now + ms);
  }

  /**
   * Runs until `done()` holds after an event (checked after each one), or until `limit`.
   * Returns the virtual time it first held, or undefined.
   */
  runUntilTrue(done: () => boolean, limit: number): number | undefined {
    if (done()) return this.now;
    while (this.#agenda.peekTime() <= limit) {
      this.#next();
      if (done()) return this.now;
    }
    this.now = Math.max(this.now, limit);
    return undefined;
  }

  // ---- faults ------------------------------------------------------------------------

  /** Starts a host's agent (first start, or a join of a host already in the config). */
  start(index: number): void {
    const h = this.host(index);
    if (h.status === "running" || h.status === "paused") {
      throw new Error(`start: ${h.name} is already ${h.status}; use restart`);
    }
    this.#record({ kind: "start", host: index, at: this.now });
    this.#boot(h);
  }

  startAll(spreadMs = this.config.heartbeat.periodMs): void {
    for (const h of this.hosts) {
      this.at(this.now + this.rng.between(0, spreadMs), () => this.start(h.index));
    }
  }

  /** The host stops dead: no bow-out, its queued events are discarded, its plan is gone. */
  crash(index: number): void {
    const h = this.host(index);
    if (h.status !== "running" && h.status !== "paused") return;
    this.#record({ kind: "crash", host: index, at: this.now });
    this.#kill(h, "crashed");
  }

  /** A new process: incarnation + 1, fresh state from the host's last config. */
  restart(index: number): void {
    const h = this.host(index);
    if (h.status === "running" || h.status === "paused") this.#kill(h, "crashed");
    this.#record({ kind: "restart", host: index, at: this.now });
    this.#boot(h);
  }

  /** SIGSTOP for `ms`: everything addressed to the host waits, then arrives in order. */
  pause(index: number, ms: number): void {
    const h = this.host(index);
    if (h.status !== "running" && h.status !== "paused") return;
    const until = Math.max(h.status === "paused" ? h.pausedUntil : 0, this.now + ms);
    this.#record({ kind: "pause", host: index, at: this.now, until });
    h.status = "paused";
    h.pausedUntil = until;
    this.#agenda.push(until, { kind: "resume", to: index, token: ++h.pauseToken });
  }

  /** `appliance leave`: the core releases its buckets and bows out, then the process exits. */
  leave(index: number): void {
    const h = this.host(index);
    if (h.status !== "running") throw new Error(`leave: ${h.name} is ${h.status}, not running`);
    this.#record({ kind: "leave", host: index, at: this.now });
    this.#step(h, { kind: "command", command: "leave", by: "sim" });
    this.#kill(h, "left");
  }

  /** Runs an operator command on a running host; returns the core's refusal, if any. */
  command(index: number, command: AdminCommand): string | undefined {
    const h = this.host(index);
    if (h.status !== "running") throw new Error(`command: ${h.name} is ${h.status}`);
    return this.#step(h, { kind: "command", command, by: "sim" }).error;
  }

  /**
   * Feeds any other input to a running host now: an interface fault (`fault`), a health
   * check result (`health`), a drain report (`drained`).
   */
  input(index: number, input: Input): void {
    const h = this.host(index);
    if (h.status !== "running") throw new Error(`input: ${h.name} is ${h.status}`);
    this.#step(h, input);
  }

  /** Groups of host indices that cannot reach each other; unlisted hosts reach everyone. */
  partition(groups: number[][]): void {
    this.heal();
    this.network.partition(groups.map((g) => g.map((i) => this.host(i).address)));
    this.#partition = { kind: "partition", at: this.now, until: Infinity, groups };
    this.#record(this.#partition);
  }

  heal(): void {
    if (!this.#partition) return;
    this.#partition.until = this.now;
    this.#partition = undefined;
    this.network.heal();
  }

  setNetwork(settings: Partial<NetworkSettings>): void {
    this.network.configure(settings);
    this.#record({ kind: "network", at: this.now, settings: this.network.settings });
  }

  // ---- internals ---------------------------------------------------------------------

  #record(fault: Fault) {
    this.faults.push(fault);
    this.#emit({ type: "fault", fault });
  }

  #emit(e: SimEvent) {
    for (const fn of this.#listeners) fn(e);
  }

  #boot(h: SimHost) {
    h.status = "running";
    h.incarnation++;
    h.life++;
    h.timerAt = undefined;
    h.held = [];
    const config = h.state?.config ?? this.config;
    h.state = initialState(
      { selfId: h.id, incarnation: h.incarnation, key: this.key, config },
      this.now,
    );
    this.#step(h, { kind: "tick" });
  }

  #kill(h: SimHost, status: "crashed" | "left") {
    h.status = status;
    h.life++;
    h.held = [];
    h.timerAt = undefined;
    h.pauseToken++;
    this.#setPlan(h, undefined);
  }

  #setPlan(h: SimHost, plan: BucketPlan | undefined) {
    if (h.plan === plan) return;
    h.plan = plan;
    this.#emit({ type: "plan", host: h, plan });
  }

  /** Pops and runs the next event; throws if virtual time stops advancing (a livelock). */
  #next() {
    const { at, item } = this.#agenda.pop()!;
    if (at === this.now) {
      if (++this.#sameInstant > MAX_EVENTS_PER_INSTANT) {
        throw new Error(
          `livelock: more than ${MAX_EVENTS_PER_INSTANT} events at ${at} ms without time advancing`,
        );
      }
    } else this.#sameInstant = 0;
    this.now = at;
    this.#dispatch(item);
  }

  #dispatch(item: Item) {
    if (item.kind === "action") return item.fn();
    const h = this.hosts[item.to];
    if (item.kind === "resume") {
      if (h.status !== "paused" || h.pauseToken !== item.token) return;
      h.status = "running";
      const held = h.held;
      h.held = [];
      for (const it of held) this.#dispatch(it);
      return;
    }
    if (h.status === "paused") return void h.held.push(item);
    if (h.status !== "running") {
      if (item.kind === "request") this.#refuse(item);
      return;
    }
    switch (item.kind) {
      case "packet":
        this.#step(h, { kind: "packet", bytes: item.bytes, from: item.from });
        break;
      case "tick":
        if (item.life !== h.life || item.timer !== h.timer) return;
        h.timerAt = undefined;
        this.#step(h, { kind: "tick" });
        break;
      case "reply":
        if (item.life === h.life) this.#step(h, item.input);
        break;
      case "request":
        this.#serve(h, item);
        break;
    }
  }

  #step(h: SimHost, input: Input): StepResult {
    const before = h.state!;
    const result = step(before, input, this.now);
    h.state = result.state;
    this.steps++;
    let marked = false;
    for (const e of result.effects) {
      // Up/down marks go out where the core logs the first one, before the plan it leads to.
      if (!marked && e.kind === "log" && (e.type === "peer.down" || e.type === "peer.up")) {
        marked = true;
        this.#emitMarks(h, before, result.state);
      }
      this.#run(h, e);
    }
    if (this.#listeners.length > 0) this.#emit({ type: "step", host: h, input, result });
    return result;
  }

  #emitMarks(h: SimHost, before: NodeState, after: NodeState) {
    for (const [id, p] of after.peers) {
      const was = before.peers.get(id)?.alive ?? false;
      if (was === p.alive) continue;
      const subject = this.#byId.get(id);
      if (subject) this.#emit({ type: p.alive ? "up" : "down", observer: h, subject });
    }
  }

  #run(h: SimHost, e: Effect) {
    switch (e.kind) {
      case "send":
        for (const address of e.to) {
          const to = this.#byAddress.get(address);
          if (!to) continue;
          const at = this.network.route(h.address, address, this.now);
          if (at !== undefined) {
            this.#agenda.push(at, {
              kind: "packet",
              to: to.index,
              bytes: e.bytes,
              from: h.address,
            });
          }
        }
        break;
      case "armTimer": {
        const at = Math.max(e.at, this.now);
        if (h.timerAt === at) return;
        h.timerAt = at;
        this.#agenda.push(at, { kind: "tick", to: h.index, life: h.life, timer: ++h.timer });
        break;
      }
      case "applyBuckets":
        this.#setPlan(h, e.plan);
        break;
      case "fetchMap":
      case "fetchConfig": {
        const peer = this.#byId.get(e.hostId);
        const leg = peer && this.network.streamDelay(h.address, peer.address);
        if (!peer || leg === undefined) {
          this.#reply(h, h.life, FETCH_TIMEOUT_MS, failed(e, "timed out (no route to host)"));
        } else {
          this.#agenda.push(this.now + leg, {
            kind: "request",
            to: peer.index,
            from: h.index,
            life: h.life,
            fetch: e,
          });
        }
        break;
      }
      case "log":
      case "changed":
        break;
    }
  }

  /** The peer API of `h` answers a fetch from its current state. */
  #serve(h: SimHost, req: Extract<Item, { kind: "request" }>) {
    const client = this.hosts[req.from];
    const leg = this.network.streamDelay(h.address, client.address);
    const input = leg === undefined
      ? failed(req.fetch, "timed out (no route to host)")
      : answer(h.name, h.state!, req.fetch);
    this.#reply(client, req.life, leg ?? FETCH_TIMEOUT_MS, input);
  }

  #refuse(req: Extract<Item, { kind: "request" }>) {
    const client = this.hosts[req.from];
    const leg = this.network.streamDelay(this.hosts[req.to].address, client.address);
    this.#reply(client, req.life, leg ?? FETCH_TIMEOUT_MS, failed(req.fetch, "connection refused"));
  }

  #reply(to: SimHost, life: number, after: number, input: Input) {
    this.#agenda.push(this.now + after, { kind: "reply", to: to.index, life, input });
  }
}
