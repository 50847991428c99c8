/**
 * /api/replication: the directory replication of the cluster's content.
 *
 *   GET  /           ReplicationStatus; `enabled: false` (and nothing else) when the
 *                    agent has no replication
 *   POST /now        {confirm?: boolean}     publish now; confirm releases a held generation
 *   POST /rollback   {gen: positive integer} re-publish a kept generation (held until /now)
 *   POST /exporter   {host, source}          move the exporter role
 *
 * Every action is logged with who asked and from where; a refusal from the agent is a 409
 * with its reason, and is logged too.
 */
import { Hono } from "hono";
import type { ReplicationStatus } from "../../agent/replication/status.ts";
import type { PanelDeps } from "../deps.ts";
import { checkSourceDir } from "../ui/format.ts";
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

/** What GET answers when the agent has no replication. */
export const DISABLED: ReplicationStatus = {
  enabled: false,
  exporter: null,
  offered: 0,
  committed: 0,
  consistency: "relaxed",
  pending: null,
  hosts: [],
  history: [],
};

const HOW_TO_ENABLE = "set a content source with `appliance init --content-source DIR` or " +
  "`appliance replication exporter HOST --source DIR`";

export function replicationApi(deps: PanelDeps): Hono<PanelEnv> {
  const app = new Hono<PanelEnv>();

  function port(): NonNullable<PanelDeps["replication"]> {
    if (deps.replication) return deps.replication;
    throw new HttpError(
      409,
      `directory replication is not enabled on this agent: ${HOW_TO_ENABLE}`,
    );
  }

  /** Runs one action: logs it with its outcome; a refusal becomes a 409 with its reason. */
  async function act<T extends { message: string }>(
    from: string,
    what: string,
    run: (by: string) => Promise<T>,
  ): Promise<T> {
    try {
      const r = await run(`panel:${ADMIN}@${from}`);
      deps.logAction(ADMIN, from, `${what}: ${r.message}`);
      return r;
    } catch (e) {
      if (e instanceof HttpError) throw e;
      const why = (e as Error)?.message ?? String(e);
      deps.logAction(ADMIN, from, `${what} refused: ${why}`);
      throw new HttpError(409, `${what} refused: ${why}`);
    }
  }

  app.get("/", async (c) => {
    if (!deps.replication) return c.json(DISABLED);
    try {
      return c.json(await deps.replication.status());
    } catch (e) {
      throw new HttpError(503, `cannot read the replication status: ${(e as Error).message}`);
    }
  });

  app.post("/now", async (c) => {
    const body = await readJsonObject(c, true);
    const problems = unknownFields(body, ["confirm"]);
    if (body.confirm !== undefined && typeof body.confirm !== "boolean") {
      problems.push(`confirm must be true or false, got ${JSON.stringify(body.confirm)}`);
    }
    if (problems.length) throw refusal(problems);
    const confirm = body.confirm === true;
    const p = port();
    const what = confirm ? "publish now, releasing the held generation" : "publish now";
    const r = await act(clientIp(c), what, (by) => p.now(confirm, by));
    return c.json({ ok: true, message: r.message });
  });

  app.post("/rollback", async (c) => {
    const body = await readJsonObject(c);
    const problems = unknownFields(body, ["gen"]);
    const gen = body.gen;
    if (typeof gen !== "number" || !Number.isSafeInteger(gen) || gen < 1) {
      problems.push(
        `gen must be a positive integer (a kept generation's number), got ${JSON.stringify(gen)}`,
      );
    }
    if (problems.length) throw refusal(problems);
    const p = port();
    const r = await act(
      clientIp(c),
      `rollback to generation ${gen}`,
      (by) => p.rollback(gen as number, by),
    );
    return c.json({ ok: true, gen: r.gen, rollbackOf: gen, message: r.message });
  });

  app.post("/exporter", async (c) => {
    const body = await readJsonObject(c);
    const problems = unknownFields(body, ["host", "source"]);
    const names = deps.status().hosts.map((h) => h.name);
    const { host, source } = body;
    if (typeof host !== "string" || host === "") {
      problems.push(`give host: the name of a cluster member (${oneOf(names)})`);
    } else if (!names.includes(host)) {
      problems.push(`host "${host}" is not a cluster member: use ${oneOf(names)}`);
    }
    const sourceProblem = typeof source === "string"
      ? checkSourceDir(source)
      : "give source: the directory to replicate, an absolute path on that host";
    if (sourceProblem) problems.push(sourceProblem);
    if (problems.length) throw refusal(problems);
    const dir = (source as string).replace(/(.)\/+$/, "$1");
    const p = port();
    const r = await act(
      clientIp(c),
      `move the exporter to "${host}" with source ${dir}`,
      (by) => p.setExporter(host as string, dir, by),
    );
    return c.json({ ok: true, host, source: dir, message: r.message });
  });
  return app;
}
