/**
 * `appliance rules list|add|set|remove`: the port rules, as in NLB. Each edit becomes a new
 * config version through applyEdit (config_cmd.ts); overlapping rules are refused by
 * validateConfig.
 */
import {
  type Command,
  COMMON_HELP,
  parseFlags,
  printJson,
  requireFlag,
  table,
  UsageError,
} from "./cli.ts";
import { applyEdit, dispatch, openState, readConfig } from "./config_cmd.ts";
import { type ClusterConfig, DEFAULT_RULE, type PortRule } from "../cluster/config.ts";
import {
  addRule,
  formatPorts,
  parsePorts,
  removeRule,
  type RulePatch,
  setRule,
} from "../config_edit.ts";

const HELP = `Usage:
  appliance rules list [--json]
  appliance rules add ID --ports LO-HI|PORT [--protocol P] [--mode M] [--affinity A] [--load L]
  appliance rules set ID [--ports LO-HI|PORT] [--protocol P] [--mode M] [--affinity A] [--load L]
  appliance rules remove ID

Lists or changes the port rules: which traffic the cluster shares and how. Rules may not
overlap, except the "default" rule (all ports), which takes what no other rule covers.
Each change is saved as the next config version and pushed to every member.

Options of add and set:
  --ports LO-HI|PORT  the port range, inclusive (required by add)
  --protocol P        tcp, udp or both (default both)
  --mode M            multiple: shared by all hosts, split by bucket; single: the
                      highest-priority live host takes it all; disabled: dropped
                      (default multiple)
  --affinity A        for multiple: none keeps a client's connections apart (saddr+sport),
                      single keeps them on one host (saddr), network keeps a /24 on one
                      host (default single)
  --load L            for multiple: equal shares, or weighted by host weight (default equal)

Without the default rule, traffic no rule covers goes to the default host (the live host
with the highest priority).

Examples:
  appliance rules add web --ports 80-443 --protocol tcp --affinity none
  appliance rules set web --load weighted

${COMMON_HELP}`;

const GROUP = { name: "rules", help: HELP };

const RULE_OPTIONS = {
  ports: { type: "string" },
  protocol: { type: "string" },
  mode: { type: "string" },
  affinity: { type: "string" },
  load: { type: "string" },
} as const;

const CHOICES = {
  protocol: ["tcp", "udp", "both"],
  mode: ["multiple", "single", "disabled"],
  affinity: ["none", "single", "network"],
  load: ["equal", "weighted"],
} as const;

function list(args: string[]): number {
  const f = parseFlags({ name: "rules list", help: HELP }, args, {});
  if (!f) return 0;
  const state = openState(f.values["state-dir"] as string);
  let config: ClusterConfig;
  try {
    config = readConfig(state);
  } finally {
    state.close();
  }
  if (f.values.json) {
    printJson(config.rules);
    return 0;
  }
  if (config.rules.length === 0) {
    console.log(
      "no rules: all traffic goes to the default host (add one with `appliance rules add`)",
    );
    return 0;
  }
  const rows = config.rules.map((r) => {
    const shared = r.mode === "multiple";
    return [
      r.id,
      formatPorts(r),
      r.protocol,
      r.mode,
      shared ? r.affinity : "-",
      shared ? r.load : "-",
    ];
  });
  console.log(table([["ID", "PORTS", "PROTOCOL", "MODE", "AFFINITY", "LOAD"], ...rows]));
  return 0;
}

/** The rule options given, parsed; a bad value is a UsageError naming the accepted ones. */
function rulePatch(cmd: string, values: Record<string, unknown>): RulePatch {
  const patch: RulePatch = {};
  if (values.ports !== undefined) {
    const ports = parsePorts(String(values.ports));
    if (typeof ports === "string") throw new UsageError(`${cmd}: --${ports}`);
    Object.assign(patch, ports);
  }
  for (const [flag, choices] of Object.entries(CHOICES)) {
    const value = values[flag];
    if (value === undefined) continue;
    if (!(choices as readonly string[]).includes(String(value))) {
      throw new UsageError(
        `${cmd}: --${flag} must be ${choices.slice(0, -1).join(", ")} or ${choices.at(-1)}, ` +
          `got "${value}"`,
      );
    }
    Object.assign(patch, { [flag]: value });
  }
  return patch;
}

function ruleId(cmd: string, positionals: string[], example: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`${cmd}: give the rule's id, e.g. appliance ${cmd} ${example}`);
  return id;
}

async function add(args: string[]): Promise<number> {
  const f = parseFlags({ name: "rules add", help: HELP }, args, RULE_OPTIONS, 1);
  if (!f) return 0;
  const id = ruleId("rules add", f.positionals, "web --ports 80-443");
  requireFlag("rules add", f.values.ports, "--ports", "LO-HI or PORT, e.g. --ports 80-443");
  const rule: PortRule = { ...DEFAULT_RULE, id, ...rulePatch("rules add", f.values) };
  return await applyEdit(
    "rules add",
    f.values["state-dir"] as string,
    f.values.json as boolean,
    (config) => addRule(config, rule),
  );
}

async function set(args: string[]): Promise<number> {
  const f = parseFlags({ name: "rules set", help: HELP }, args, RULE_OPTIONS, 1);
  if (!f) return 0;
  const id = ruleId("rules set", f.positionals, "web --mode single");
  const patch = rulePatch("rules set", f.values);
  if (Object.keys(patch).length === 0) {
    throw new UsageError(
      "rules set: give at least one of --ports, --protocol, --mode, --affinity, --load",
    );
  }
  return await applyEdit(
    "rules set",
    f.values["state-dir"] as string,
    f.values.json as boolean,
    (config) => setRule(config, id, patch),
  );
}

async function remove(args: string[]): Promise<number> {
  const f = parseFlags({ name: "rules remove", help: HELP }, args, {}, 1);
  if (!f) return 0;
  const id = ruleId("rules remove", f.positionals, "web");
  let removed: PortRule | undefined;
  return await applyEdit(
    "rules remove",
    f.values["state-dir"] as string,
    f.values.json as boolean,
    (config) => {
      removed = config.rules.find((r) => r.id === id);
      return removeRule(config, id);
    },
    (config) => removalNote(config, removed),
  );
}

/** What happens to the traffic the removed rule covered. */
export function removalNote(after: ClusterConfig, removed?: PortRule): string | undefined {
  if (!removed) return undefined;
  const ports = formatPorts(removed);
  if (removed.id !== "default" && after.rules.some((r) => r.id === "default")) {
    return `ports ${ports} now fall under the default rule`;
  }
  if (removed.id === "default") {
    return "without the default rule, traffic on ports no rule covers goes to the default host " +
      "(the live host with the highest priority); to share it again: " +
      "appliance rules add default --ports 0-65535";
  }
  return `traffic on ports ${ports} now goes to the default host (the live host with the ` +
    "highest priority), as does all traffic no rule covers";
}

export const rulesCommand: Command = {
  name: "rules",
  summary: "list or change the port rules",
  help: HELP,
  run: (args) => dispatch(GROUP, { list, add, set, remove }, args),
};
