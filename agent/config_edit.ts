/**
 * Edits of the cluster config, as pure functions: each takes the current config and
 * returns the next one (version + 1) or the problems that stop the edit.
 *
 *     current ──edit──► candidate ──same as current?──► { changed: false } (version kept)
 *                                  └─ differs ──► version + 1 ──validateConfig──► ok | problems
 *
 * The CLI saves the result and asks the agent to publish it (agent/cli/config_cmd.ts).
 * Pure: no I/O, no clock.
 */
import {
  canonicalJson,
  type ClusterConfig,
  DEFAULT_HEALTH,
  type HostEntry,
  type PortRule,
  validateConfig,
} from "./cluster/config.ts";
import { parseDuration } from "./security/duration.ts";
import { DEFAULT_REPLICATION } from "./cluster/replication_settings.ts";

export type EditResult =
  | { ok: true; changed: boolean; config: ClusterConfig }
  | { ok: false; problems: string[] };

/** The fields of a rule that `rules set` may change: all but its id. */
export type RulePatch = Partial<Omit<PortRule, "id">>;

/** Finishes an edit: no change keeps the version; a change bumps it and must validate. */
export function finishEdit(current: ClusterConfig, candidate: ClusterConfig): EditResult {
  if (canonicalJson({ ...candidate, version: 0 }) === canonicalJson({ ...current, version: 0 })) {
    return { ok: true, changed: false, config: current };
  }
  const next = { ...candidate, version: current.version + 1 };
  const problems = validateConfig(next);
  return problems.length ? { ok: false, problems } : { ok: true, changed: true, config: next };
}

/** Parses "80" or "8000-8080" into an inclusive range, or returns what is wrong. */
export function parsePorts(text: string): { portLo: number; portHi: number } | string {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  const lo = m ? Number(m[1]) : NaN;
  const hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo > 65535 || hi > 65535 || lo > hi) {
    return `ports must be PORT or LO-HI within 0-65535 with LO <= HI (e.g. 443 or 8000-8080), got "${text}"`;
  }
  return { portLo: lo, portHi: hi };
}

/** "0-65535", or "443" for a single port. */
export function formatPorts(rule: Pick<PortRule, "portLo" | "portHi">): string {
  return rule.portLo === rule.portHi ? String(rule.portLo) : `${rule.portLo}-${rule.portHi}`;
}

export function addRule(config: ClusterConfig, rule: PortRule): EditResult {
  if (config.rules.some((r) => r.id === rule.id)) {
    return {
      ok: false,
      problems: [
        `rule "${rule.id}" already exists: change it with \`appliance rules set ${rule.id}\` ` +
        "or pick another id",
      ],
    };
  }
  return finishEdit(config, { ...config, rules: [...config.rules, rule] });
}

export function setRule(config: ClusterConfig, id: string, patch: RulePatch): EditResult {
  const missing = unknownRule(config, id);
  if (missing) return missing;
  const rules = config.rules.map((r) => r.id === id ? { ...r, ...definedOnly(patch) } : r);
  return finishEdit(config, { ...config, rules });
}

export function removeRule(config: ClusterConfig, id: string): EditResult {
  const missing = unknownRule(config, id);
  if (missing) return missing;
  return finishEdit(config, { ...config, rules: config.rules.filter((r) => r.id !== id) });
}

function unknownRule(config: ClusterConfig, id: string): EditResult | undefined {
  if (config.rules.some((r) => r.id === id)) return undefined;
  return { ok: false, problems: [noSuchRule(config, id)] };
}

function noSuchRule(config: ClusterConfig, id: string): string {
  const ids = config.rules.map((r) => r.id);
  return `no rule "${id}": the rules are ${ids.length ? ids.join(", ") : "(none)"} ` +
    "(see: appliance rules list)";
}

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<
    T
  >;
}

type KeyType = "integer" | "duration" | "string";

/** Keys `config set` accepts, with how their values parse. */
const SETTABLE: Record<string, KeyType> = {
  "heartbeat.periodMs": "duration",
  "heartbeat.suspectMisses": "integer",
  "heartbeat.deadMisses": "integer",
  "heartbeat.port": "integer",
  peerPort: "integer",
  buckets: "integer",
  mode: "string",
  clusterIp: "string",
  drainTimeoutMs: "duration",
  "health.kind": "string",
  "health.port": "integer",
  "health.url": "string",
  "health.intervalMs": "duration",
  "health.timeoutMs": "duration",
  "health.rise": "integer",
  "health.fall": "integer",
  "replication.stabilizeMs": "duration",
  "replication.verifyIntervalMs": "duration",
  "replication.keep": "integer",
  "replication.consistency": "string",
  "replication.massDeletePercent": "integer",
  "replication.stageTimeoutMs": "duration",
};

const HOST_SETTABLE: Record<string, KeyType> = { priority: "integer", weight: "integer" };

export const SETTABLE_KEYS: readonly string[] = [
  ...Object.keys(SETTABLE),
  ...Object.keys(HOST_SETTABLE).map((f) => `hosts.NAME.${f}`),
];

/** Why a key that exists is not settable. */
const NOT_SETTABLE: Record<string, string> = {
  version: "version is not settable: every edit bumps it by one",
  clusterId:
    "clusterId is not settable: it is fixed at init and names the cluster in every heartbeat " +
    "(to get a new one, create a new cluster with `appliance init`)",
  hosts: "hosts are added by `appliance join` and removed by `appliance host remove`",
  rules: "rules are changed with `appliance rules add|set|remove`",
  heartbeat: "set the heartbeat fields one by one, e.g. heartbeat.periodMs=100",
  health: "set the health fields one by one, e.g. health.kind=http health.url=http://127.0.0.1/",
  "replication.exporter":
    "the exporter is moved with `appliance replication exporter HOST --source DIR`",
  "replication.source": "the source is set with `appliance replication exporter HOST --source DIR`",
};

/** Splits "KEY=VALUE" at the first "=", or returns what is wrong. */
export function parseAssignment(text: string): [string, string] | string {
  const at = text.indexOf("=");
  if (at <= 0) return `"${text}" is not KEY=VALUE (e.g. heartbeat.periodMs=100)`;
  return [text.slice(0, at), text.slice(at + 1)];
}

/** Applies KEY=VALUE assignments, each value parsed by its key's type. */
export function setKeys(config: ClusterConfig, assignments: [string, string][]): EditResult {
  const problems: string[] = [];
  const next: ClusterConfig = {
    ...config,
    heartbeat: { ...config.heartbeat },
    health: { ...DEFAULT_HEALTH, ...config.health },
    hosts: config.hosts.map((h) => ({ ...h })),
  };
  const seen = new Set<string>();
  for (const [key, raw] of assignments) {
    if (seen.has(key)) {
      problems.push(`${key} is given twice: give each key once`);
      continue;
    }
    seen.add(key);
    const problem = setKey(next, key, raw);
    if (problem) problems.push(problem);
  }
  return problems.length ? { ok: false, problems } : finishEdit(config, next);
}

/** Sets one key on `c` (a private copy); returns what is wrong, if anything. */
function setKey(c: ClusterConfig, key: string, raw: string): string | undefined {
  const hostKey = /^hosts\.(.+)\.([^.]+)$/.exec(key);
  if (hostKey) {
    const [, name, field] = hostKey;
    const host = c.hosts.find((h) => h.name === name);
    if (!host) return unknownHost(c, name);
    const type = HOST_SETTABLE[field];
    if (!type) {
      return `hosts.${name}.${field} is not settable: of a host, only ` +
        `${Object.keys(HOST_SETTABLE).join(" and ")} are (id, name and address are set at join)`;
    }
    const value = parseValue(key, type, raw);
    if (typeof value === "string") return value;
    (host as unknown as Record<string, number>)[field] = value.value as number;
    return undefined;
  }
  const type = SETTABLE[key];
  if (!type) {
    const root = key.split(".")[0];
    const why = NOT_SETTABLE[key] ??
      (root === "hosts" || root === "rules" ? NOT_SETTABLE[root] : undefined);
    return `${why ?? `unknown key "${key}"`}; settable keys: ${SETTABLE_KEYS.join(", ")}`;
  }
  const value = parseValue(key, type, raw);
  if (typeof value === "string") return value;
  if (key.startsWith("heartbeat.")) {
    const field = key.slice("heartbeat.".length) as keyof ClusterConfig["heartbeat"];
    c.heartbeat[field] = value.value as number;
  } else if (key.startsWith("replication.")) {
    c.replication = { ...DEFAULT_REPLICATION, ...c.replication };
    (c.replication as unknown as Record<string, unknown>)[key.slice("replication.".length)] =
      value.value;
  } else if (key.startsWith("health.")) {
    const field = key.slice("health.".length);
    (c.health as unknown as Record<string, unknown>)[field] = value.value;
  } else {
    (c as unknown as Record<string, unknown>)[key] = value.value;
  }
  return undefined;
}

function parseValue(key: string, type: KeyType, raw: string): { value: unknown } | string {
  const text = raw.trim();
  if (type === "string") {
    return text ? { value: text } : `${key} needs a value, e.g. ${key}=${exampleOf(key)}`;
  }
  if (/^-?\d+$/.test(text)) return { value: Number(text) };
  if (type === "duration") {
    const ms = parseDuration(text);
    if (ms !== undefined) return { value: ms };
    return `${key} must be milliseconds or a duration such as 500ms, 30s or 2m, got "${raw}"`;
  }
  return `${key} must be a whole number, got "${raw}"`;
}

function exampleOf(key: string): string {
  return key === "mode" ? "failover" : "198.18.0.10";
}

function unknownHost(c: ClusterConfig, name: string): string {
  const names = c.hosts.map((h) => h.name);
  return `no host named "${name}" in the config: the hosts are ` +
    `${names.length ? names.join(", ") : "(none)"} (see: appliance config get hosts)`;
}

/**
 * The value at a dotted key: "buckets", "heartbeat.periodMs", "hosts" (the list),
 * "hosts.NAME", "hosts.NAME.weight", "rules.ID", "rules.ID.mode". Returns what is wrong
 * when there is no such key.
 */
export function getKey(config: ClusterConfig, key: string): { value: unknown } | string {
  const host = /^hosts\.(.+?)(?:\.(id|name|address|priority|weight))?$/.exec(key);
  if (host) {
    const h = config.hosts.find((x) => x.name === host[1]);
    if (!h) return unknownHost(config, host[1]);
    return { value: host[2] ? h[host[2] as keyof HostEntry] : h };
  }
  const rule = /^rules\.([^.]+)(?:\.([^.]+))?$/.exec(key);
  if (rule) {
    const r = config.rules.find((x) => x.id === rule[1]);
    if (!r) return noSuchRule(config, rule[1]);
    if (rule[2] === undefined) return { value: r };
    if (Object.hasOwn(r, rule[2])) return { value: r[rule[2] as keyof PortRule] };
    return `rules.${rule[1]} has no field "${rule[2]}": it has ${Object.keys(r).join(", ")}`;
  }
  let value: unknown = config;
  for (const part of key.split(".")) {
    if (
      !value || typeof value !== "object" || Array.isArray(value) || !Object.hasOwn(value, part)
    ) {
      return `unknown key "${key}": keys are ${Object.keys(config).join(", ")}, ` +
        "heartbeat.FIELD, hosts.NAME[.FIELD] and rules.ID[.FIELD]";
    }
    value = (value as Record<string, unknown>)[part];
  }
  return { value };
}

/**
 * A value as "key value" lines with dotted keys; hosts are keyed by name and rules by id,
 * the way `getKey` and `setKeys` name them.
 */
export function flatten(value: unknown, prefix = ""): [string, string][] {
  if (Array.isArray(value)) {
    return value.flatMap((item, i) => {
      const o = item as Record<string, unknown>;
      const label = typeof o?.name === "string" ? o.name : typeof o?.id === "string" ? o.id : i;
      return flatten(item, join(prefix, String(label)));
    });
  }
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => flatten(v, join(prefix, k)));
  }
  return [[prefix, String(value)]];
}

function join(prefix: string, key: string): string {
  return prefix ? `${prefix}.${key}` : key;
}

/** Makes `hostName` the content exporter, with `source` (an absolute path on that host). */
export function setExporter(config: ClusterConfig, hostName: string, source: string): EditResult {
  const host = config.hosts.find((h) => h.name === hostName || String(h.id) === hostName);
  if (!host) return { ok: false, problems: [unknownHost(config, hostName)] };
  const next: ClusterConfig = {
    ...config,
    replication: { ...DEFAULT_REPLICATION, ...config.replication, exporter: host.id, source },
  };
  return finishEdit(config, next);
}
