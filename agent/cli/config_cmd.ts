/**
 * `appliance config get|set`: read the cluster config, or change its settings.
 *
 * Every config edit (here and in `appliance rules`) goes the same way, through
 * `applyEdit`:
 *
 *     open state dir ─► latest config ─► pure edit (agent/config_edit.ts) ─► version + 1,
 *     validated ─► saved ─► POST /config/reload ─► pushed to every member (agent running)
 *                                              └─► adopted when the agent starts (not running)
 *
 * An edit that changes nothing saves nothing and keeps the version.
 */
import {
  CliError,
  type Command,
  COMMON_HELP,
  parseFlags,
  printJson,
  table,
  UsageError,
} from "./cli.ts";
import { openStateDir, type StateDir } from "../state_dir.ts";
import { StateError } from "../../db/state_error.ts";
import { AgentNotRunning, callAgent } from "../control/control_client.ts";
import type { ClusterConfig } from "../cluster/config.ts";
import {
  type EditResult,
  flatten,
  getKey,
  parseAssignment,
  setKeys,
  SETTABLE_KEYS,
} from "../config_edit.ts";

/** Opens an existing state dir; a missing or unusable one becomes a CliError saying why. */
export function openState(dir: string): StateDir {
  try {
    return openStateDir(dir, { create: false });
  } catch (e) {
    if (e instanceof StateError) throw new CliError(e.message);
    throw e;
  }
}

export function readConfig(state: StateDir): ClusterConfig {
  const latest = state.store.latestConfig();
  if (!latest) {
    throw new CliError(
      `there is no cluster config in ${state.dir}: run \`appliance init\` or ` +
        "`appliance join` first, or pass the right --state-dir",
    );
  }
  return latest.config as ClusterConfig;
}

export interface EditOutcome {
  version: number;
  changed: boolean;
  /** Whether the local agent answered the reload; false when it is not running. */
  agentRunning: boolean;
  pushed: string[];
  failed: string[];
  note?: string;
}

/**
 * Applies `edit` to the latest config, saves the result and asks the agent to publish it;
 * prints the outcome. `note` adds a line about what the edit means (e.g. a removed rule).
 */
export async function applyEdit(
  cmd: string,
  stateDir: string,
  json: boolean,
  edit: (config: ClusterConfig) => EditResult,
  note?: (config: ClusterConfig) => string | undefined,
): Promise<number> {
  const state = openState(stateDir);
  let config: ClusterConfig;
  try {
    const current = readConfig(state);
    const result = edit(current);
    if (!result.ok) throw new CliError(refused(cmd, current.version, result.problems));
    config = result.config;
    if (!result.changed) {
      return report({ version: config.version, changed: false, ...NOT_SENT }, json);
    }
    const latest = state.store.latestConfig()?.version;
    if (latest !== current.version) {
      throw new CliError(
        `${cmd}: the config changed while editing (version ${current.version} became ` +
          `${latest}); nothing was saved: run the command again`,
      );
    }
    state.store.saveConfig(config, config.version);
  } finally {
    state.close();
  }
  const extra = note?.(config);
  const outcome = { version: config.version, changed: true, ...(extra ? { note: extra } : {}) };
  try {
    const r = await callAgent<{ version: number; pushed: string[]; failed: string[] }>(
      stateDir,
      "POST",
      "/config/reload",
    );
    return report({ ...outcome, agentRunning: true, pushed: r.pushed, failed: r.failed }, json);
  } catch (e) {
    if (e instanceof AgentNotRunning) return report({ ...outcome, ...NOT_SENT }, json);
    throw new CliError(
      `${cmd}: saved as version ${config.version}, but the agent could not publish it: ` +
        `${(e as Error).message} (it publishes the newest saved version when it restarts: ` +
        "see `appliance status`)",
    );
  }
}

const NOT_SENT = { agentRunning: false, pushed: [], failed: [] };

function refused(cmd: string, version: number, problems: string[]): string {
  if (problems.length === 1) return `${cmd}: ${problems[0]}`;
  return `${cmd}: the edit was refused (the config stays at version ${version}):\n` +
    problems.map((p) => `  - ${p}`).join("\n");
}

function report(o: EditOutcome, json: boolean): number {
  if (json) {
    printJson(o);
    return 0;
  }
  if (!o.changed) {
    console.log(`nothing to change: the config stays at version ${o.version}`);
    return 0;
  }
  if (!o.agentRunning) {
    console.log(
      `saved as version ${o.version}; the agent is not running: ` +
        "it will be adopted cluster-wide when it starts",
    );
  } else {
    const to = o.pushed.length ? `pushed to ${o.pushed.join(", ")}` : "no other member to push to";
    console.log(`saved as version ${o.version}; ${to}`);
    if (o.failed.length) {
      console.log(
        `could not push to ${o.failed.join(", ")}: ` +
          `they adopt version ${o.version} from the heartbeats once they are reachable`,
      );
    }
  }
  if (o.note) console.log(o.note);
  return 0;
}

/** Runs the subcommand named by args[0]; `--help` or no subcommand prints/refuses with help. */
export async function dispatch(
  group: Pick<Command, "name" | "help">,
  subs: Record<string, (args: string[]) => number | Promise<number>>,
  args: string[],
): Promise<number> {
  const [sub, ...rest] = args;
  const names = Object.keys(subs).join(", ");
  if (sub === "--help" || sub === "-h") {
    console.log(group.help);
    return 0;
  }
  if (sub === undefined || sub.startsWith("-")) {
    throw new UsageError(
      `${group.name}: give a subcommand: ${names} (see: appliance ${group.name} --help)`,
    );
  }
  const run = subs[sub];
  if (!run) {
    throw new UsageError(
      `${group.name}: unknown subcommand "${sub}": use ${names} (see: appliance ${group.name} --help)`,
    );
  }
  return await run(rest);
}

const HELP = `Usage:
  appliance config get [KEY] [--json]
  appliance config set KEY=VALUE [KEY=VALUE...]

Shows the cluster config (shared by every member; secrets are not part of it), or
changes settings. A change is saved as the next version and pushed to every member
by the running agent; with the agent stopped, it is adopted when the agent starts.

get KEY: a dotted key, e.g. mode, buckets, heartbeat, heartbeat.periodMs, hosts,
  hosts.NAME, hosts.NAME.weight, rules.ID. Without KEY, the whole config.

set: the settable keys are
  ${SETTABLE_KEYS.join(", ")}.
  Numbers are whole numbers; keys ending in Ms also take a duration (500ms, 30s, 2m).
  Several keys in one call make one new version, checked as a whole.
  version (bumped by every edit) and clusterId (fixed at init) are not settable;
  rules are changed with \`appliance rules\`.

Examples:
  appliance config get heartbeat
  appliance config set heartbeat.periodMs=100 drainTimeoutMs=2m
  appliance config set hosts.web1.priority=2 hosts.web2.priority=1

${COMMON_HELP}`;

const GROUP = { name: "config", help: HELP };

function get(args: string[]): number {
  const f = parseFlags({ name: "config get", help: HELP }, args, {}, 1);
  if (!f) return 0;
  const state = openState(f.values["state-dir"] as string);
  let config: ClusterConfig;
  try {
    config = readConfig(state);
  } finally {
    state.close();
  }
  const key = f.positionals[0];
  const got = key === undefined ? { value: config } : getKey(config, key);
  if (typeof got === "string") throw new CliError(`config get: ${got}`);
  if (f.values.json) {
    printJson(got.value);
  } else if (got.value === null || typeof got.value !== "object") {
    console.log(String(got.value));
  } else {
    const rows = flatten(got.value, key ?? "");
    console.log(rows.length ? table(rows) : "(none)");
  }
  return 0;
}

async function set(args: string[]): Promise<number> {
  const f = parseFlags({ name: "config set", help: HELP }, args, {}, Infinity);
  if (!f) return 0;
  if (f.positionals.length === 0) {
    throw new UsageError("config set: give at least one KEY=VALUE (e.g. heartbeat.periodMs=100)");
  }
  const assignments = f.positionals.map((text) => {
    const a = parseAssignment(text);
    if (typeof a === "string") throw new UsageError(`config set: ${a}`);
    return a;
  });
  return await applyEdit(
    "config set",
    f.values["state-dir"] as string,
    f.values.json as boolean,
    (config) => setKeys(config, assignments),
  );
}

export const configCommand: Command = {
  name: "config",
  summary: "show or change the cluster config",
  help: HELP,
  run: (args) => dispatch(GROUP, { get, set }, args),
};
