/**
 * Random fault schedules for the property tests. A run warms a cluster of 3..12 hosts up,
 * then goes through a few *windows*: from an agreed view, 1..3 random faults overlap
 * within 1.5 s (crash, restart, pause, loss burst, partition, join, leave), every fault
 * ends, and the cluster must agree again within BOUND. Each window is checked on the spot;
 * the first broken property is returned as text naming the seed.
 */
import { ownedBy } from "../../../agent/cluster/bucket_map.ts";
import { type ClusterConfig, DEFAULT_RULE } from "../../../agent/cluster/config.ts";
import type { View } from "../../../agent/cluster/view.ts";
import { SimCluster, type SimHost } from "../../../agent/sim/cluster.ts";
import { Prng } from "../../../agent/sim/prng.ts";
import { Probe } from "../../../agent/sim/probe.ts";
import type { NetworkSettings } from "../../../agent/sim/network.ts";

/** Hosts agree again within deadMisses * periodMs + 1 s of the last fault's end. */
export function agreementBound(c: SimCluster): number {
  const { deadMisses, periodMs } = c.config.heartbeat;
  return deadMisses * periodMs + 1000;
}

export interface ChaosResult {
  seed: number;
  hosts: number;
  windows: WindowReport[];
  /** The first broken property, or undefined. */
  failure?: string;
  duplicateOwnerMs: number;
}

export interface WindowReport {
  faults: string[];
  lastFaultEnd: number;
  agreedAfterMs?: number;
  moved: number;
  joined: boolean;
}

export type FaultKind = "crash" | "restart" | "pause" | "loss" | "partition" | "join" | "leave";
export const ALL_FAULTS: FaultKind[] = [
  "crash",
  "restart",
  "pause",
  "loss",
  "partition",
  "join",
  "leave",
];

export interface ChaosOptions {
  /** Windows to run (default 1..3, random). */
  windows?: number;
  /** Fault kinds to draw from (default all). */
  kinds?: FaultKind[];
  /** Longest pause, loss burst or partition, in ms (default 1200). */
  maxMs?: number;
  /** The network outside loss bursts (default: 1 ms, no jitter, no loss). */
  network?: Partial<NetworkSettings>;
  /** More port rules: a weighted `multiple` rule and a `single` one, random host weights. */
  rules?: boolean;
}

export function runChaos(seed: number, opts: ChaosOptions = {}): ChaosResult {
  const rng = new Prng(seed ^ 0x9e3779b9);
  const hosts = rng.int(3, 12);
  const c = new SimCluster({
    hosts,
    seed,
    network: opts.network,
    editConfig: opts.rules ? (config) => moreRules(config, rng) : undefined,
  });
  const probe = new Probe(c);
  const late = new Set<number>();
  for (const h of c.hosts) if (h.index > 0 && rng.chance(0.15)) late.add(h.index);
  for (const h of c.hosts) {
    if (!late.has(h.index)) c.at(rng.between(0, 50), () => c.start(h.index));
  }
  c.runUntil(2000);
  const result: ChaosResult = { seed, hosts, windows: [], duplicateOwnerMs: 0 };
  const fail = (why: string) => {
    result.failure ??= `seed ${seed} (${hosts} hosts) at ${c.now.toFixed(1)} ms: ${why}`;
    return result;
  };
  let agreed = c.agreement();
  if (!agreed) return fail("no agreement after the 2 s warm-up");

  const windows = opts.windows ?? rng.int(1, 3);
  for (let w = 0; w < windows; w++) {
    const report = window(c, rng, probe, agreed, opts);
    result.windows.push(report.window);
    if (report.failure) {
      return fail(`window ${w + 1} [${report.window.faults.join("; ")}]: ${report.failure}`);
    }
    agreed = report.after!;
  }
  c.runFor(500);
  probe.stop();
  result.duplicateOwnerMs = probe.ownership.duplicateMs;
  if (probe.ownership.first) {
    const d = probe.ownership.first;
    return fail(
      `bucket ${d.bucket} of ${d.what} held by ${d.hosts.join(" and ")} at ${d.at.toFixed(1)} ms ` +
        `(${result.duplicateOwnerMs.toFixed(1)} ms of duplicate owners in all)`,
    );
  }
  return result;
}

function window(
  c: SimCluster,
  rng: Prng,
  probe: Probe,
  before: View,
  opts: ChaosOptions,
): { window: WindowReport; after?: View; failure?: string } {
  const start = c.now;
  const marksBefore = probe.marks.length;
  const faults: string[] = [];
  let lastEnd = start;
  let joined = false;
  const n = rng.int(1, 3);
  for (let i = 0; i < n; i++) {
    const at = start + rng.between(0, 1500);
    const kind = rng.pick(opts.kinds ?? ALL_FAULTS);
    const host = rng.int(0, c.hosts.length - 1);
    const ms = rng.between(20, opts.maxMs ?? 1200);
    lastEnd = Math.max(
      lastEnd,
      at + (kind === "pause" || kind === "loss" || kind === "partition" ? ms : 0),
    );
    c.at(at, () => {
      const h = c.host(host);
      const running = c.hosts.filter((x) => x.status === "running");
      const label = `${kind} ${h.name} at ${at.toFixed(1)}`;
      switch (kind) {
        case "crash":
        case "leave":
          // Keep two hosts up, so that "agree" means something.
          if (h.status !== "running" || running.length <= 2) return;
          if (kind === "crash") c.crash(host);
          else c.leave(host);
          faults.push(label);
          break;
        case "restart":
        case "join":
          if (kind === "join" && h.status === "running") return;
          if (h.status === "paused") return;
          c.restart(host);
          joined = true;
          faults.push(label);
          break;
        case "pause":
          if (h.status !== "running") return;
          c.pause(host, ms);
          faults.push(`${label} for ${ms.toFixed(0)} ms`);
          break;
        case "loss": {
          const loss = rng.between(0.1, 0.6);
          c.setNetwork({
            loss,
            jitterMs: Math.max(opts.network?.jitterMs ?? 0, rng.between(0, 10)),
          });
          c.at(at + ms, () => c.setNetwork({ loss: 0, jitterMs: opts.network?.jitterMs ?? 0 }));
          faults.push(
            `loss ${(loss * 100).toFixed(0)}% at ${at.toFixed(1)} for ${ms.toFixed(0)} ms`,
          );
          break;
        }
        case "partition": {
          const groups = split(c.hosts, rng);
          c.partition(groups.map((g) => g.map((x) => x.index)));
          c.at(at + ms, () => c.heal());
          const names = groups.map((g) => g.map((x) => x.name).join(","));
          faults.push(`partition ${names.join(" | ")} at ${at.toFixed(1)} for ${ms.toFixed(0)} ms`);
          break;
        }
      }
    });
  }
  c.runUntil(lastEnd);
  const bound = agreementBound(c);
  let after: View | undefined;
  const at = c.runUntilTrue(
    () => !!(after = c.agreement()) && reflectsFaults(c, after),
    lastEnd + bound,
  );
  const report: WindowReport = { faults, lastFaultEnd: lastEnd, moved: 0, joined };
  if (at === undefined || !after) {
    return {
      window: report,
      failure: `no agreement within ${bound} ms of the last fault's end (${disagreement(c)})`,
    };
  }
  report.agreedAfterMs = at - lastEnd;
  const owners = checkOwners(c, after);
  if (owners) return { window: report, failure: owners };
  // A host that came (back) up in the window may take buckets; otherwise only leavers' move.
  const marks = probe.marks.slice(marksBefore);
  report.joined ||= marks.some((m) => m.type === "up");
  for (const [rule, map] of Object.entries(after.maps)) {
    const prev = before.maps[rule];
    if (!prev) continue;
    for (let b = 0; b < map.length; b++) {
      if (prev[b] === map[b]) continue;
      report.moved++;
      if (!report.joined && after.members.includes(prev[b])) {
        const from = c.byId(prev[b])?.name, to = c.byId(map[b])?.name;
        return {
          window: report,
          failure:
            `bucket ${b} of ${rule} moved ${from} -> ${to} though ${from} stayed and no host joined`,
        };
      }
    }
  }
  return { window: report, after };
}

/** Among the agreeing hosts every bucket has exactly one owner, a live member of the view. */
function checkOwners(c: SimCluster, view: View): string | undefined {
  const live = c.live();
  for (const id of view.members) {
    const h = c.byId(id);
    if (!h || h.status !== "running") {
      return `member ${h?.name ?? id} of the agreed view is ${h?.status}`;
    }
  }
  for (const [rule, map] of Object.entries(view.maps)) {
    const holders = new Array<SimHost[]>(map.length);
    for (const h of live) for (const b of h.plan?.owned[rule] ?? []) (holders[b] ??= []).push(h);
    for (let b = 0; b < map.length; b++) {
      const hs = holders[b] ?? [];
      if (hs.length !== 1) {
        return `bucket ${b} of ${rule} has ${hs.length} owners (${
          hs.map((h) => h.name).join(",")
        })`;
      }
      if (hs[0].id !== map[b]) {
        return `bucket ${b} of ${rule} is held by ${hs[0].name}, not its owner`;
      }
      if (!view.members.includes(hs[0].id)) {
        return `bucket ${b} of ${rule} is owned by non-member ${hs[0].name}`;
      }
    }
    for (const id of view.members) {
      const h = c.byId(id)!;
      if ((h.plan?.owned[rule]?.length ?? 0) !== ownedBy(map, id).length) {
        return `${h.name} applies ${h.plan?.owned[rule]?.length} buckets of ${rule}, its map says ${
          ownedBy(map, id).length
        }`;
      }
    }
  }
  return undefined;
}

/** The view's members are exactly the running hosts (all active here). */
export function reflectsFaults(c: SimCluster, view: View): boolean {
  const running = c.hosts.filter((h) => h.status === "running").map((h) => h.id).sort((a, b) =>
    a - b
  );
  return running.length === view.members.length && running.every((id, i) => view.members[i] === id);
}

function moreRules(config: ClusterConfig, rng: Prng) {
  for (const h of config.hosts) h.weight = rng.int(0, 100);
  config.rules.push(
    { ...DEFAULT_RULE, id: "web", portLo: 80, portHi: 443, protocol: "tcp", load: "weighted" },
    { ...DEFAULT_RULE, id: "db", portLo: 5432, portHi: 5432, protocol: "tcp", mode: "single" },
  );
}

/** Two random non-empty groups (every host in one). */
function split(hosts: SimHost[], rng: Prng): SimHost[][] {
  const shuffled = [...hosts].sort(() => rng.float() - 0.5);
  const cut = rng.int(1, hosts.length - 1);
  return [shuffled.slice(0, cut), shuffled.slice(cut)];
}

/** Who disagrees, for a failure message. */
export function disagreement(c: SimCluster): string {
  return c.live().map((h) => {
    const s = h.state!;
    const digest = Array.from(
      s.view.viewDigest.subarray(0, 3),
      (x) => x.toString(16).padStart(2, "0"),
    ).join("");
    return `${h.name}:${h.status}/${s.actual}/e${s.view.epoch}/${digest}/m${s.view.members.length}${
      s.awaitingMap ? "/awaiting" : ""
    }`;
  }).join(" ");
}
