/**
 * The named scenarios: each builds a cluster from a seed, warms it up until it agrees,
 * applies one fault and measures. Every scenario runs the same way at any size.
 *
 *   crash           a random host stops dead
 *   graceful_leave  a random host runs `leave` (bow-out), then exits
 *   join            the last host of the config starts after the others agreed
 *   loss5           5 % loss, 20 ± 20 ms delay, 10 simulated minutes, no other fault
 *   pause150        a random host is frozen (SIGSTOP) for 150 ms
 *   partition_heal  the hosts split into two halves for 2 s, then the network heals
 */
import { bucketsMoved, type View } from "../cluster/view.ts";
import { SimCluster, type SimHost } from "./cluster.ts";
import { type Mark, Probe } from "./probe.ts";

export const SCENARIOS = [
  "crash",
  "graceful_leave",
  "join",
  "loss5",
  "pause150",
  "partition_heal",
] as const;
export type ScenarioName = typeof SCENARIOS[number];

export interface Metrics {
  scenario: ScenarioName;
  hosts: number;
  /** Fault (or heal) -> first live host marks the subject down (up, for join and heal). */
  detect_ms: number | null;
  /** Fault (or heal) -> every live host converged on one view that reflects the fault. */
  converge_ms: number | null;
  /** Buckets whose owner differs between the agreed views before and after, over rules. */
  buckets_moved: number | null;
  /** Downs whose subject was healthy and reachable: a healthy host evicted. */
  false_suspicions: number;
  /** Time some bucket was in two hosts' applied plans at once, split brains excused. */
  duplicate_owner_ms: number;
}

export const WARM_UP_MS = 2000;
/** How long a scenario waits for convergence before calling it failed (converge_ms null). */
export const SETTLE_LIMIT_MS = 10_000;
export const LOSS5_MS = 10 * 60_000;

export function isScenario(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}

interface Outcome {
  detect?: Mark;
  convergedAt?: number;
  after?: View;
  /** Origin of detect_ms and converge_ms. */
  from?: number;
}

export function runScenario(
  name: ScenarioName,
  hosts: number,
  seed: number,
  opts: { loss5Ms?: number } = {},
): Metrics {
  const c = new SimCluster({ hosts, seed });
  const probe = new Probe(c);
  const joiner = name === "join" ? c.host(hosts - 1) : undefined;
  for (const h of c.hosts) {
    if (h !== joiner) c.at(c.rng.between(0, c.config.heartbeat.periodMs), () => c.start(h.index));
  }
  // Warm up, then fault at a random phase of the heartbeat period.
  c.runUntil(WARM_UP_MS + c.rng.between(0, c.config.heartbeat.periodMs));
  const before = c.agreement();
  if (!before) throw new Error(`${name}/${hosts}/seed ${seed}: no agreement after warm-up`);
  const t0 = c.now;
  const victim = c.host(c.rng.int(0, hosts - 1));
  let out: Outcome;
  switch (name) {
    case "crash":
      c.crash(victim.index);
      out = departure(c, probe, victim, t0);
      break;
    case "graceful_leave":
      c.leave(victim.index);
      out = departure(c, probe, victim, t0);
      break;
    case "join": {
      c.start(joiner!.index);
      const s = settle(c, (v) => v.members.includes(joiner!.id));
      out = {
        detect: probe.first(t0, (m) => m.type === "up" && m.subject === joiner),
        ...s,
        from: t0,
      };
      break;
    }
    case "loss5":
      c.setNetwork({ loss: 0.05, delayMs: 20, jitterMs: 20 });
      c.runFor(opts.loss5Ms ?? LOSS5_MS);
      c.setNetwork({ loss: 0, delayMs: 1, jitterMs: 0 });
      out = { after: settle(c, () => true).after };
      break;
    case "pause150":
      c.pause(victim.index, 150);
      c.runFor(2000);
      out = { after: settle(c, () => true).after };
      break;
    case "partition_heal": {
      const half = Math.ceil(hosts / 2);
      const side = (h: SimHost) => h.index < half;
      c.partition([
        c.hosts.filter(side).map((h) => h.index),
        c.hosts.filter((h) => !side(h)).map((h) => h.index),
      ]);
      c.runFor(2000);
      c.heal();
      const healed = c.now;
      const s = settle(c, (v) => v.members.length === hosts);
      const rejoin = (m: Mark) => m.type === "up" && side(m.observer) !== side(m.subject);
      out = { detect: probe.first(healed, rejoin), ...s, from: healed };
      break;
    }
  }
  c.runFor(1000);
  probe.stop();
  const from = out.from ?? t0;
  return {
    scenario: name,
    hosts,
    detect_ms: out.detect ? round(out.detect.at - from) : null,
    converge_ms: out.convergedAt !== undefined ? round(out.convergedAt - from) : null,
    buckets_moved: out.after ? bucketsMoved(before, out.after) : null,
    false_suspicions: probe.falseSuspicions.length,
    duplicate_owner_ms: round(probe.ownership.duplicateMs),
  };
}

function departure(c: SimCluster, probe: Probe, victim: SimHost, t0: number): Outcome {
  const s = settle(c, (v) => !v.members.includes(victim.id));
  return {
    detect: probe.first(t0, (m) => m.type === "down" && m.subject === victim),
    ...s,
    from: t0,
  };
}

/** Runs until every live host agrees on a view that satisfies `ok`, or the limit. */
function settle(
  c: SimCluster,
  ok: (v: View) => boolean,
): { convergedAt?: number; after?: View } {
  let view: View | undefined;
  const at = c.runUntilTrue(() => {
    view = c.agreement();
    return !!view && ok(view);
  }, c.now + SETTLE_LIMIT_MS);
  return at === undefined ? {} : { convergedAt: at, after: view };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
