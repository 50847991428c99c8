/**
 * The driver: the one place the cluster core's effects are carried out. It feeds inputs
 * (packets, timers, commands, fetched views) to `step`, runs the effects in order, and
 * keeps the latest state for observers (status, the panel).
 */
import type { AdminCommand, BucketPlan, Effect, Input } from "./cluster/effects.ts";
import { step } from "./cluster/membership.ts";
import type { NodeState } from "./cluster/node_state.ts";
import type { ClusterConfig } from "./cluster/config.ts";
import { type ClusterStatus, describe } from "./cluster/status.ts";
import { toSnapshot, type ViewSnapshot } from "./cluster/view.ts";
import type { Clock, PeerClient, RuleApplier, Transport } from "./ports.ts";
import type { EventLog } from "../db/event_log.ts";

export interface DriverDeps {
  clock: Clock;
  transport: Transport;
  peers: PeerClient;
  rules: RuleApplier;
  events: EventLog;
  /** Called with every config this host adopts, so it can be persisted. */
  saveConfig: (config: ClusterConfig) => void;
  hostName: string;
}

export interface StepStats {
  steps: number;
  packets: number;
  /** Total and worst time spent in step() for packets, in ms. */
  packetMs: number;
  worstPacketMs: number;
  /** How late timers fired (event-loop stalls): worst, and how many fired over a period late. */
  worstTimerLateMs: number;
  timersLateOverPeriod: number;
  timers: number;
}

export class Driver {
  #state: NodeState;
  #deps: DriverDeps;
  #listeners = new Set<() => void>();
  #applying: Promise<void> = Promise.resolve();
  /** Bucket plans handed to the rules and not yet settled. */
  #plansPending = 0;
  #stopped = false;
  /** Whether the latest plan applied handed buckets to peers (stop() lingers for them). */
  #handedOff = false;
  readonly stats: StepStats = {
    steps: 0,
    packets: 0,
    packetMs: 0,
    worstPacketMs: 0,
    worstTimerLateMs: 0,
    timersLateOverPeriod: 0,
    timers: 0,
  };

  constructor(state: NodeState, deps: DriverDeps) {
    this.#state = state;
    this.#deps = deps;
  }

  get state(): NodeState {
    return this.#state;
  }

  start(): void {
    this.#deps.transport.onPacket((bytes, from) => this.input({ kind: "packet", bytes, from }));
    this.input({ kind: "tick" });
  }

  /** Feeds one input to the core and runs its effects. Returns a refusal reason, if any. */
  input(input: Input): string | undefined {
    if (this.#stopped) return "the agent is stopping";
    const t0 = input.kind === "packet" ? performance.now() : 0;
    const before = this.#state.config.version;
    const r = step(this.#state, input, this.#deps.clock.now());
    this.#state = r.state;
    this.stats.steps++;
    if (input.kind === "packet") {
      const dt = performance.now() - t0;
      this.stats.packets++;
      this.stats.packetMs += dt;
      if (dt > this.stats.worstPacketMs) this.stats.worstPacketMs = dt;
    }
    if (r.state.config.version !== before) this.#deps.saveConfig(r.state.config);
    // A heartbeat that follows a plan change goes out only once the plan took effect: a
    // peer may take the buckets we released as soon as it hears our new view.
    let planPending = false;
    for (const e of r.effects) {
      if (e.kind === "applyBuckets") planPending = true;
      if (e.kind === "send" && planPending) {
        const { to, bytes } = e;
        this.#applying = this.#applying.then(() => this.#deps.transport.send(to, bytes));
      } else this.#run(e);
    }
    if (input.kind === "tick") this.#chain(() => this.#deps.rules.refresh());
    return r.error;
  }

  command(command: AdminCommand, by: string): string | undefined {
    return this.input({ kind: "command", command, by });
  }

  /** Adopts a config edited on this host and pushes it to every other member. */
  async publishConfig(config: ClusterConfig): Promise<{ pushed: string[]; failed: string[] }> {
    this.input({ kind: "config", config, source: "local edit" });
    const others = config.hosts.filter((h) => h.id !== this.#state.selfId);
    const results = await Promise.allSettled(
      others.map((h) => this.#deps.peers.pushConfig(h.address, config)),
    );
    const pushed: string[] = [], failed: string[] = [];
    results.forEach((r, i) => (r.status === "fulfilled" ? pushed : failed).push(others[i].name));
    return { pushed, failed };
  }

  /**
   * The cluster as this host sees it. `converged` holds only once this host's latest bucket
   * plan is in the kernel: the view agreeing is not enough while a plan is being applied
   * (a test that sent traffic the moment the view converged lost a connection 1 time in
   * some thousands, its SYN hashed to a bucket no host had installed yet).
   */
  status(): ClusterStatus {
    const s = describe(this.#state, this.#deps.clock.now(), this.#deps.clock.wallNow());
    return this.#plansPending > 0 ? { ...s, converged: false } : s;
  }

  snapshot(): ViewSnapshot {
    return toSnapshot(this.#state.view, this.#state.config.version);
  }

  get plan(): BucketPlan | undefined {
    return this.#state.lastPlan;
  }

  onChange(fn: () => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /**
   * Bows out (peers converge at once), clears the dataplane and closes the transport. When
   * the bow-out handed buckets to peers, the dataplane keeps forwarding their new flows for
   * two heartbeat periods first: the peers take them as soon as they hear the bow-out.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#handedOff = false;
    this.input({ kind: "command", command: "leave", by: "shutdown" });
    const handedOff = this.#handedOff;
    this.#stopped = true;
    this.#deps.clock.clearTimer();
    await this.#applying;
    if (handedOff) {
      await new Promise((r) => setTimeout(r, 2 * this.#state.config.heartbeat.periodMs));
    }
    await this.#deps.rules.clear();
    // Give the kernel a moment to put the bow-out datagrams on the wire before closing.
    await new Promise((r) => setTimeout(r, 20));
    await this.#deps.transport.close();
  }

  #run(e: Effect): void {
    const d = this.#deps;
    switch (e.kind) {
      case "send":
        d.transport.send(e.to, e.bytes);
        break;
      case "armTimer":
        if (!this.#stopped) {
          const at = e.at;
          d.clock.setTimer(at, () => {
            this.#noteLateness(d.clock.now() - at);
            this.input({ kind: "tick" });
          });
        }
        break;
      case "log":
        d.events.append({
          ts: d.clock.wallNow(),
          host: d.hostName,
          level: e.level,
          kind: e.type,
          message: e.message,
          details: e.details,
        });
        break;
      case "applyBuckets": {
        const { plan, handoff } = e;
        this.#handedOff = handoff !== undefined;
        this.#plansPending++;
        this.#chain(() => d.rules.apply(plan, handoff).finally(() => this.#plansPending--));
        break;
      }
      case "fetchMap":
        d.peers.fetchView(e.address).then(
          (snapshot) => this.input({ kind: "snapshot", hostId: e.hostId, snapshot }),
          (err) =>
            this.input({
              kind: "fetchFailed",
              hostId: e.hostId,
              what: "map",
              error: String(err?.message ?? err),
            }),
        );
        break;
      case "fetchConfig":
        d.peers.fetchConfig(e.address).then(
          (config) =>
            this.input(
              e.reason === "newer"
                ? { kind: "config", config, source: `host #${e.hostId}` }
                : { kind: "peerConfig", hostId: e.hostId, config },
            ),
          (err) =>
            this.input({
              kind: "fetchFailed",
              hostId: e.hostId,
              what: "config",
              error: String(err?.message ?? err),
            }),
        );
        break;
      case "changed":
        for (const fn of this.#listeners) fn();
        break;
    }
  }

  /** Dataplane work runs one at a time, in order; a failure is logged, never thrown. */
  #chain(work: () => Promise<void>) {
    this.#applying = this.#applying.then(work).catch((err) => {
      this.#logError(
        "dataplane.apply_failed",
        `the dataplane update failed: ${err?.message ?? err}`,
      );
    });
  }

  #noteLateness(late: number) {
    const st = this.stats;
    st.timers++;
    if (late > st.worstTimerLateMs) st.worstTimerLateMs = late;
    if (late > this.#state.config.heartbeat.periodMs) st.timersLateOverPeriod++;
  }

  #lastError = { message: "", at: -Infinity };

  /** Logs an error; the same message at most once per 10 s, so a failing kernel cannot flood the log. */
  #logError(kind: string, message: string) {
    const now = this.#deps.clock.now();
    if (message === this.#lastError.message && now - this.#lastError.at < 10_000) return;
    this.#lastError = { message, at: now };
    this.#deps.events.append({
      ts: this.#deps.clock.wallNow(),
      host: this.#deps.hostName,
      level: "error",
      kind,
      message,
    });
  }
}
