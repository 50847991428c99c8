/**
 * The peer API: HTTPS on each host's own address, spoken between members (and by a
 * joiner, with a token). Everything but /ca and /join needs a request signed with the
 * cluster key (request_auth.ts).
 */
import { Hono } from "hono";
import type { ClusterConfig } from "../cluster/config.ts";
import type { AdminCommand } from "../cluster/effects.ts";
import type { ClusterStatus } from "../cluster/status.ts";
import type { ViewSnapshot } from "../cluster/view.ts";
import type { EventLog, EventQuery } from "../../db/event_log.ts";
import { verifyRequest } from "./request_auth.ts";
import { handleJoin, type JoinDeps, parseJoinRequest } from "./join.ts";
import { type ReplicationPeer, replicationRoutes } from "./replication_routes.ts";

/** What the peer API needs from the running agent. */
export interface PeerAgent {
  snapshot(): ViewSnapshot;
  config(): ClusterConfig;
  status(): ClusterStatus;
  adoptConfig(config: ClusterConfig, source: string): void;
  command(command: AdminCommand, by: string): string | undefined;
}

export interface PeerAppDeps {
  agent: PeerAgent;
  key: Uint8Array;
  caPem: string;
  events: EventLog;
  join: JoinDeps;
  now(): number;
  /** This host's dataplane counters (RuleApplier.traffic); absent without a dataplane. */
  traffic?(): Promise<Record<string, { packets: number; bytes: number }>>;
  /** This host's replication service, once it runs. */
  replication?(): ReplicationPeer | undefined;
}

const COMMANDS: AdminCommand[] = ["drainstop", "stop", "start", "suspend", "resume"];

export function createPeerApp(deps: PeerAppDeps): Hono {
  const app = new Hono();
  app.onError((err, c) => c.json({ error: `internal error: ${err.message}` }, 500));
  app.notFound((c) =>
    c.json({ error: `no such peer endpoint: ${c.req.method} ${c.req.path}` }, 404)
  );

  app.get("/peer/v1/ca", (c) => c.text(deps.caPem));

  app.post("/peer/v1/join", async (c) => {
    const req = parseJoinRequest(await c.req.json().catch(() => undefined));
    if (typeof req === "string") return c.json({ error: req }, 400);
    const r = await handleJoin(req, deps.join);
    return r.ok ? c.json(r.grant) : c.json({ error: r.error }, r.status);
  });

  const authed = new Hono();
  authed.use(async (c, next) => {
    const body = c.req.method === "GET" ? "" : await c.req.text();
    const r = verifyRequest(
      deps.key,
      c.req.header("authorization"),
      c.req.method,
      c.req.path,
      body,
      deps.now(),
    );
    if (!r.ok) return c.json({ error: r.reason }, 401);
    c.set("body" as never, body as never);
    await next();
  });
  authed.get("/view", (c) => c.json(deps.agent.snapshot()));
  authed.get("/config", (c) => c.json(deps.agent.config()));
  authed.post("/config", (c) => {
    const config = JSON.parse(c.get("body" as never) as string) as ClusterConfig;
    deps.agent.adoptConfig(config, "push");
    return c.json({ version: deps.agent.config().version });
  });
  authed.get("/status", (c) => c.json(deps.agent.status()));
  authed.post("/command", (c) => {
    const b = JSON.parse(c.get("body" as never) as string) as {
      command?: AdminCommand;
      by?: string;
    };
    if (!b.command || !COMMANDS.includes(b.command)) {
      return c.json({ error: `command must be one of ${COMMANDS.join(", ")}` }, 400);
    }
    const err = deps.agent.command(b.command, b.by ?? "peer");
    return err ? c.json({ error: err }, 409) : c.json({ ok: true, state: deps.agent.status() });
  });
  authed.get("/events", (c) => {
    const q = c.req.query();
    const num = (v: string | undefined) => (v ? Number(v) : undefined);
    const query: EventQuery = {
      since: num(q.since),
      until: num(q.until),
      kind: q.kind || undefined,
      level: (q.level || undefined) as EventQuery["level"],
      search: q.search || undefined,
      afterId: num(q.afterId),
      limit: num(q.limit),
      offset: num(q.offset),
      order: q.order === "asc" ? "asc" : "desc",
    };
    try {
      return c.json(deps.events.query(query));
    } catch (e) {
      return c.json({ error: (e as Error).message }, 400);
    }
  });
  authed.get("/traffic", async (c) => c.json(deps.traffic ? await deps.traffic() : {}));
  authed.route("/replication", replicationRoutes(() => deps.replication?.()));
  app.route("/peer/v1", authed);
  return app;
}
