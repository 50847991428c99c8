/**
 * The cluster config: one typed, versioned document shared by every member.
 *
 * Every member holds the same config. An edit on any host bumps `version` and is
 * pushed to all members; a member adopts a higher version when it sees one in a
 * heartbeat. Two members with the same version but a different digest hold a
 * *mismatch* and do not admit each other (see membership.ts).
 *
 * Pure: no I/O. The digest uses node:crypto's SHA-256, which is deterministic.
 */
import { createHash } from "node:crypto";
import { type ReplicationSettings, validateReplication } from "./replication_settings.ts";

/** A member of the cluster, as the config records it. */
export interface HostEntry {
  /** Random non-zero u32, unique in the cluster; assigned at init/join. */
  id: number;
  /** Unique human name; defaults to the machine's hostname. */
  name: string;
  /** The host's dedicated IPv4 address on the cluster interface (heartbeats and peer API). */
  address: string;
  /** 1..32, unique; lower number = higher priority (as in NLB). Default host and `single` rules. */
  priority: number;
  /** 0..100 load weight, used by rules whose load is "weighted". Default 50. */
  weight: number;
}

export type Protocol = "tcp" | "udp" | "both";
export type FilteringMode = "multiple" | "single" | "disabled";
export type Affinity = "none" | "single" | "network";

/** A port rule, as in NLB: a port range, a protocol, a filtering mode. */
export interface PortRule {
  /** Short stable id, e.g. "default" or "web". */
  id: string;
  /** Inclusive port range, 0..65535. The default rule covers 0..65535. */
  portLo: number;
  portHi: number;
  protocol: Protocol;
  /** multiple: split across hosts by bucket; single: the highest-priority live host; disabled: drop. */
  mode: FilteringMode;
  /** Only for `multiple`: none hashes saddr+sport, single hashes saddr, network hashes saddr/24. */
  affinity: Affinity;
  /** Only for `multiple`: "equal" gives every host the same share, "weighted" uses host weights. */
  load: "equal" | "weighted";
}

export interface HeartbeatSettings {
  /** Heartbeat period. Default 50 ms. Allowed 20..10000. */
  periodMs: number;
  /**
   * Missed periods before a host is *suspected* (it clears its "I hear you" bit for the
   * peer, which is what other hosts use to confirm a death). Default 3 (150 ms).
   */
  suspectMisses: number;
  /**
   * Missed periods before a host is declared dead, provided every other live host also
   * suspects it. NLB requires at least 5; so do we. Default 5 (250 ms).
   *
   * Detection bound: deadMisses*periodMs + one heartbeat (confirmation) ≈ 300 ms.
   * False-death odds at 5% independent loss with 3 hosts: 0.05^5 (this host) ×
   * 0.05^3 (the confirmer) ≈ 4e-11 per window.
   */
  deadMisses: number;
  /** UDP port for heartbeats. Default 7946. */
  port: number;
}

/**
 * The probe of each host's local web service (Convoy noticed a stopped service; NLB does
 * not). An unhealthy host drains out of the bucket map and returns when healthy again.
 */
export interface HealthCheck {
  /** none (default), tcp (connect to 127.0.0.1:port) or http (GET url, 2xx/3xx is healthy). */
  kind: "none" | "tcp" | "http";
  /** tcp: the port. Default 80. */
  port: number;
  /** http: the URL. Default http://127.0.0.1/. */
  url: string;
  /** Probe period. Default 1000 ms. */
  intervalMs: number;
  /** A probe slower than this fails. Default 500 ms. */
  timeoutMs: number;
  /** Consecutive successes to become healthy. Default 2. */
  rise: number;
  /** Consecutive failures to become unhealthy. Default 2: detection ≈ 2 s at the defaults. */
  fall: number;
}

export const DEFAULT_HEALTH: HealthCheck = {
  kind: "none",
  port: 80,
  url: "http://127.0.0.1/",
  intervalMs: 1000,
  timeoutMs: 500,
  rise: 2,
  fall: 2,
};

export interface ClusterConfig {
  /** Bumped on every edit; the higher version wins. */
  version: number;
  /** 16 hex chars (8 bytes), random at init. Carried in every heartbeat. */
  clusterId: string;
  clusterIp: string;
  /** shared: every host takes a share (default); failover: one owner holds the IP. */
  mode: "shared" | "failover";
  /** Buckets per `multiple` rule. Default 1024 (NLB used 60). Allowed 256..4096. */
  buckets: number;
  heartbeat: HeartbeatSettings;
  /** HTTPS peer API port (join, config push, map fetch, remote commands). Default 7947. */
  peerPort: number;
  /** Drainstop gives established connections this long before the host stops. Default 60 s. */
  drainTimeoutMs: number;
  /** The local service probe. Configs from before it existed read as DEFAULT_HEALTH. */
  health?: HealthCheck;
  /** Directory replication. Configs from before it existed read as off (DEFAULT_REPLICATION). */
  replication?: ReplicationSettings;
  hosts: HostEntry[];
  rules: PortRule[];
}

export const MAX_HOSTS = 32;

/** The default rule follows NLB: all ports, both protocols, multiple, affinity single, equal. */
export const DEFAULT_RULE: PortRule = {
  id: "default",
  portLo: 0,
  portHi: 65535,
  protocol: "both",
  mode: "multiple",
  affinity: "single",
  load: "equal",
};

export const DEFAULT_HEARTBEAT: HeartbeatSettings = {
  periodMs: 50,
  suspectMisses: 3,
  deadMisses: 5,
  port: 7946,
};

export function defaultConfig(
  init: { clusterId: string; clusterIp: string; mode?: "shared" | "failover" },
): ClusterConfig {
  return {
    version: 1,
    clusterId: init.clusterId,
    clusterIp: init.clusterIp,
    mode: init.mode ?? "shared",
    buckets: 1024,
    heartbeat: { ...DEFAULT_HEARTBEAT },
    peerPort: 7947,
    drainTimeoutMs: 60_000,
    health: { ...DEFAULT_HEALTH },
    hosts: [],
    rules: [{ ...DEFAULT_RULE }],
  };
}

/** Deterministic JSON: object keys sorted, so equal configs give equal bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** First 8 bytes of SHA-256 over the canonical JSON of everything but `version`. */
export function configDigest(config: ClusterConfig): Uint8Array {
  const { version: _v, ...rest } = config;
  return new Uint8Array(createHash("sha256").update(canonicalJson(rest)).digest().subarray(0, 8));
}

/**
 * Top-level fields (and `hosts[name].field` / `rules[id].field`) that differ between two
 * configs, so a mismatch event can name them.
 */
export function configDiff(a: ClusterConfig, b: ClusterConfig): string[] {
  const out: string[] = [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof ClusterConfig>;
  for (const k of [...keys].sort()) {
    if (k === "version" || k === "hosts" || k === "rules") continue;
    if (canonicalJson(a[k]) !== canonicalJson(b[k])) out.push(k);
  }
  out.push(...listDiff("hosts", a.hosts, b.hosts, (h) => h.name));
  out.push(...listDiff("rules", a.rules, b.rules, (r) => r.id));
  return out;
}

function listDiff<T extends object>(
  label: string,
  a: T[],
  b: T[],
  key: (t: T) => string,
): string[] {
  const out: string[] = [];
  const am = new Map(a.map((x) => [key(x), x]));
  const bm = new Map(b.map((x) => [key(x), x]));
  for (const k of [...new Set([...am.keys(), ...bm.keys()])].sort()) {
    const x = am.get(k), y = bm.get(k);
    if (!x || !y) {
      out.push(`${label}[${k}]`);
      continue;
    }
    for (const f of Object.keys(x) as (keyof T)[]) {
      if (canonicalJson(x[f]) !== canonicalJson(y[f])) out.push(`${label}[${k}].${String(f)}`);
    }
  }
  return out;
}

/** Problems with a config, each phrased as what is wrong and how to fix it. Empty when valid. */
export function validateConfig(c: ClusterConfig): string[] {
  const errs: string[] = [];
  const hb = c.heartbeat;
  if (!/^[0-9a-f]{16}$/.test(c.clusterId)) errs.push("clusterId must be 16 hex digits");
  if (!isIPv4(c.clusterIp)) errs.push(`clusterIp "${c.clusterIp}" is not an IPv4 address`);
  if (c.mode !== "shared" && c.mode !== "failover") errs.push(`mode must be shared or failover`);
  if (!int(c.buckets, 256, 4096)) errs.push("buckets must be an integer from 256 to 4096");
  if (!int(hb.periodMs, 20, 10_000)) errs.push("heartbeat.periodMs must be 20..10000");
  if (!int(hb.suspectMisses, 2, 100)) errs.push("heartbeat.suspectMisses must be 2..100");
  if (!int(hb.deadMisses, 5, 100)) {
    errs.push("heartbeat.deadMisses must be 5..100 (5 is NLB's floor)");
  }
  if (hb.suspectMisses >= hb.deadMisses) {
    errs.push("heartbeat.suspectMisses must be smaller than heartbeat.deadMisses");
  }
  if (!int(hb.port, 1, 65535)) errs.push("heartbeat.port must be 1..65535");
  if (!int(c.peerPort, 1, 65535)) errs.push("peerPort must be 1..65535");
  if (!int(c.drainTimeoutMs, 0, 86_400_000)) errs.push("drainTimeoutMs must be 0..86400000");
  if (c.health) errs.push(...validateHealth(c.health));
  if (c.replication) errs.push(...validateReplication(c.replication, c.hosts.map((h) => h.id)));
  if (c.hosts.length > MAX_HOSTS) errs.push(`at most ${MAX_HOSTS} hosts`);
  const seen = { id: new Set<number>(), name: new Set<string>(), prio: new Set<number>() };
  for (const h of c.hosts) {
    if (!int(h.id, 1, 0xffffffff)) errs.push(`host ${h.name}: id must be a u32 > 0`);
    if (!int(h.priority, 1, 32)) errs.push(`host ${h.name}: priority must be 1..32`);
    if (!int(h.weight, 0, 100)) errs.push(`host ${h.name}: weight must be 0..100`);
    if (!isIPv4(h.address)) errs.push(`host ${h.name}: address "${h.address}" is not IPv4`);
    if (seen.id.has(h.id)) errs.push(`host id ${h.id} is used twice`);
    if (seen.name.has(h.name)) errs.push(`host name "${h.name}" is used twice`);
    if (seen.prio.has(h.priority)) {
      errs.push(`priority ${h.priority} is used twice (host ${h.name}); priorities must be unique`);
    }
    seen.id.add(h.id), seen.name.add(h.name), seen.prio.add(h.priority);
  }
  const ruleIds = new Set<string>();
  for (const r of c.rules) errs.push(...validateRule(r, ruleIds));
  errs.push(...overlappingRules(c.rules));
  return errs;
}

export function validateHealth(h: HealthCheck): string[] {
  const errs: string[] = [];
  if (!["none", "tcp", "http"].includes(h.kind)) errs.push("health.kind must be none, tcp or http");
  if (!int(h.port, 1, 65535)) errs.push("health.port must be 1..65535");
  if (!/^https?:\/\/[^\s]+$/.test(h.url)) {
    errs.push(`health.url "${h.url}" must be an http:// or https:// URL`);
  }
  if (!int(h.intervalMs, 100, 3_600_000)) errs.push("health.intervalMs must be 100..3600000");
  if (!int(h.timeoutMs, 10, 60_000) || h.timeoutMs > h.intervalMs) {
    errs.push("health.timeoutMs must be 10..60000 and at most health.intervalMs");
  }
  if (!int(h.rise, 1, 100)) errs.push("health.rise must be 1..100");
  if (!int(h.fall, 1, 100)) errs.push("health.fall must be 1..100");
  return errs;
}

export function validateRule(r: PortRule, ids = new Set<string>()): string[] {
  const errs: string[] = [];
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(r.id)) {
    errs.push(`rule id "${r.id}" must be 1-32 of a-z 0-9 _ - (starting with a letter or digit)`);
  }
  if (ids.has(r.id)) errs.push(`rule id "${r.id}" is used twice`);
  ids.add(r.id);
  if (!int(r.portLo, 0, 65535) || !int(r.portHi, 0, 65535) || r.portLo > r.portHi) {
    errs.push(`rule ${r.id}: ports must be LO-HI within 0-65535 with LO <= HI`);
  }
  if (!["tcp", "udp", "both"].includes(r.protocol)) {
    errs.push(`rule ${r.id}: protocol must be tcp, udp or both`);
  }
  if (!["multiple", "single", "disabled"].includes(r.mode)) {
    errs.push(`rule ${r.id}: mode must be multiple, single or disabled`);
  }
  if (!["none", "single", "network"].includes(r.affinity)) {
    errs.push(`rule ${r.id}: affinity must be none, single or network`);
  }
  if (r.load !== "equal" && r.load !== "weighted") {
    errs.push(`rule ${r.id}: load must be equal or weighted`);
  }
  return errs;
}

function overlappingRules(rules: PortRule[]): string[] {
  const errs: string[] = [];
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      const a = rules[i], b = rules[j];
      const protoOverlap = a.protocol === "both" || b.protocol === "both" ||
        a.protocol === b.protocol;
      const isDefault = a.id === "default" || b.id === "default";
      if (!isDefault && protoOverlap && a.portLo <= b.portHi && b.portLo <= a.portHi) {
        errs.push(`rules ${a.id} and ${b.id} overlap; give them disjoint port ranges`);
      }
    }
  }
  return errs;
}

export function isIPv4(s: string): boolean {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  return !!m && m.slice(1).every((p) => Number(p) <= 255 && String(Number(p)) === p);
}

function int(n: unknown, lo: number, hi: number): boolean {
  return typeof n === "number" && Number.isInteger(n) && n >= lo && n <= hi;
}

/** Hosts sorted by id: the index into this list is a host's bit in heartbeat bitmaps. */
export function hostIndex(config: ClusterConfig): Map<number, number> {
  return new Map([...config.hosts].sort((a, b) => a.id - b.id).map((h, i) => [h.id, i]));
}
