/**
 * /api/rules: list (GET), add (POST), change (PUT /:id), remove (DELETE /:id) port rules.
 * Each change goes through the pure edits of agent/config_edit.ts and deps.editConfig,
 * as `appliance rules` does; refusals come back as 400 with every problem.
 */
import { Hono } from "hono";
import { DEFAULT_RULE, type PortRule } from "../../agent/cluster/config.ts";
import {
  addRule,
  type EditResult,
  formatPorts,
  parsePorts,
  removeRule,
  type RulePatch,
  setRule,
} from "../../agent/config_edit.ts";
import type { PanelDeps } from "../deps.ts";
import {
  clientIp,
  HttpError,
  oneOf,
  type PanelEnv,
  readJsonObject,
  refusal,
  unknownFields,
} from "./_http.ts";
import { ADMIN } from "./session_api.ts";

const CHOICES = {
  protocol: ["tcp", "udp", "both"],
  mode: ["multiple", "single", "disabled"],
  affinity: ["none", "single", "network"],
  load: ["equal", "weighted"],
} as const;

const FIELDS = ["id", "ports", "portLo", "portHi", ...Object.keys(CHOICES)];

/** The rule fields in a request body, checked; every problem is listed. */
export function parseRuleBody(body: Record<string, unknown>, withId: boolean): RulePatch & {
  id?: string;
} {
  const out: RulePatch & { id?: string } = {};
  const problems = unknownFields(body, FIELDS);
  if (withId) {
    if (typeof body.id !== "string" || body.id === "") problems.push("give the rule an id");
    else out.id = body.id;
  } else if (body.id !== undefined) {
    problems.push("a rule's id cannot change: remove it and add a new one");
  }
  if (body.ports !== undefined) {
    const ports = typeof body.ports === "string" ? parsePorts(body.ports) : undefined;
    if (typeof ports === "object") Object.assign(out, ports);
    else problems.push(ports ?? "ports must be a string such as 443 or 8000-8080");
  } else if (body.portLo !== undefined || body.portHi !== undefined) {
    out.portLo = body.portLo as number;
    out.portHi = (body.portHi ?? body.portLo) as number;
  }
  for (const [field, choices] of Object.entries(CHOICES)) {
    const value = body[field];
    if (value === undefined) continue;
    if (!(choices as readonly string[]).includes(value as string)) {
      problems.push(`${field} must be ${oneOf(choices)}, got ${JSON.stringify(value)}`);
    } else Object.assign(out, { [field]: value });
  }
  if (problems.length) throw refusal(problems);
  return out;
}

export function rulesApi(deps: PanelDeps): Hono<PanelEnv> {
  const app = new Hono<PanelEnv>();

  /** Runs one edit through deps.editConfig; problems become a 400. */
  async function edit(by: string, fn: (c: Parameters<typeof addRule>[0]) => EditResult) {
    let problems: string[] | undefined;
    let changed = false;
    const r = await deps.editConfig((config) => {
      const result = fn(config);
      if (!result.ok) return problems = result.problems;
      changed = result.changed;
      return result.config;
    }, by);
    if (problems) throw refusal(problems);
    return { version: r.version, changed };
  }

  function existing(id: string): PortRule {
    const rule = deps.rules().find((r) => r.id === id);
    if (rule) return rule;
    const ids = deps.rules().map((r) => r.id).join(", ") || "(none)";
    throw new HttpError(404, `no rule "${id}": the rules are ${ids}`);
  }

  app.get("/", (c) => c.json({ rules: deps.rules(), version: deps.status().configVersion }));

  app.post("/", async (c) => {
    const fields = parseRuleBody(await readJsonObject(c), true);
    if (fields.portLo === undefined) {
      throw refusal(["give the rule's ports, e.g. 443 or 8000-8080"]);
    }
    const rule = { ...DEFAULT_RULE, ...fields } as PortRule;
    const from = clientIp(c);
    const r = await edit(`panel:${ADMIN}@${from}`, (config) => addRule(config, rule));
    deps.logAction(
      ADMIN,
      from,
      `added rule "${rule.id}" (${describe(rule)}): version ${r.version}`,
    );
    return c.json({ ...r, rule }, 201);
  });

  app.put("/:id", async (c) => {
    const id = c.req.param("id");
    const patch = parseRuleBody(await readJsonObject(c), false);
    existing(id);
    const from = clientIp(c);
    const r = await edit(`panel:${ADMIN}@${from}`, (config) => setRule(config, id, patch));
    const rule = deps.rules().find((x) => x.id === id);
    if (r.changed) {
      deps.logAction(
        ADMIN,
        from,
        `changed rule "${id}" (${rule ? describe(rule) : "?"}): version ${r.version}`,
      );
    }
    return c.json({ ...r, rule });
  });

  app.delete("/:id", async (c) => {
    const id = c.req.param("id");
    const rule = existing(id);
    const from = clientIp(c);
    const r = await edit(`panel:${ADMIN}@${from}`, (config) => removeRule(config, id));
    deps.logAction(ADMIN, from, `removed rule "${id}" (${describe(rule)}): version ${r.version}`);
    return c.json(r);
  });
  return app;
}

function describe(r: PortRule): string {
  return `ports ${formatPorts(r)} ${r.protocol}, ${r.mode}` +
    (r.mode === "multiple" ? `, affinity ${r.affinity}, ${r.load} load` : "");
}
