/**
 * /api/events: the event log of this host or, through the peer API, of another member.
 * Filters: host, kind, level, search, since, until (ms since the epoch or ISO times),
 * afterId, limit, offset. `format=csv|json` downloads the matches as a file.
 */
import { Hono } from "hono";
import { type Event, type EventQuery, type Level, LEVELS, MAX_LIMIT } from "../../db/event_log.ts";
import type { PanelDeps } from "../deps.ts";
import { eventsCsv } from "../csv.ts";
import { HttpError, oneOf, type PanelEnv } from "./_http.ts";

export interface EventsRequest {
  host?: string;
  query: EventQuery;
  format?: "csv" | "json";
}

const PARAMS = [
  "host",
  "kind",
  "level",
  "search",
  "since",
  "until",
  "afterId",
  "limit",
  "offset",
  "format",
];

/** The query string checked; every problem is listed in one 400. */
export function parseEventsQuery(q: Record<string, string>): EventsRequest {
  const problems: string[] = [];
  for (const key of Object.keys(q)) {
    if (!PARAMS.includes(key)) problems.push(`unknown parameter "${key}": use ${oneOf(PARAMS)}`);
  }
  const text = (key: string) => (q[key] === undefined || q[key] === "" ? undefined : q[key]);
  const int = (key: string, lo: number, hi: number) => {
    const v = text(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (/^\d+$/.test(v) && n >= lo && n <= hi) return n;
    problems.push(`${key} must be a whole number from ${lo} to ${hi}, got "${v}"`);
    return undefined;
  };
  const time = (key: string) => {
    const v = text(key);
    if (v === undefined) return undefined;
    const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
    if (Number.isFinite(n)) return n;
    problems.push(`${key} must be an ISO time (2026-01-31T12:00:00Z) or ms since the epoch`);
    return undefined;
  };
  const level = text("level");
  if (level !== undefined && !LEVELS.includes(level as Level)) {
    problems.push(`level must be ${oneOf(LEVELS)}, got "${level}"`);
  }
  const format = text("format");
  if (format !== undefined && format !== "csv" && format !== "json") {
    problems.push(`format must be csv or json, got "${format}"`);
  }
  const query: EventQuery = {
    kind: text("kind"),
    level: level as Level | undefined,
    search: text("search"),
    since: time("since"),
    until: time("until"),
    afterId: int("afterId", 0, Number.MAX_SAFE_INTEGER),
    limit: int("limit", 1, MAX_LIMIT) ?? (format ? MAX_LIMIT : 100),
    offset: int("offset", 0, Number.MAX_SAFE_INTEGER) ?? 0,
  };
  if (problems.length) {
    throw new HttpError(400, problems.join("; "), { problems });
  }
  for (const k of Object.keys(query) as (keyof EventQuery)[]) {
    if (query[k] === undefined) delete query[k];
  }
  return { host: text("host"), query, format: format as EventsRequest["format"] };
}

export function eventsApi(deps: PanelDeps): Hono<PanelEnv> {
  const app = new Hono<PanelEnv>();
  app.get("/", async (c) => {
    const req = parseEventsQuery(c.req.query());
    const { events, total, host } = await fetchEvents(deps, req);
    if (req.format) {
      const stamp = new Date(deps.now()).toISOString().replace(/[:.]/g, "-");
      const file = `events-${host.replace(/[^\w.-]/g, "_")}-${stamp}.${req.format}`;
      c.header("Content-Disposition", `attachment; filename="${file}"`);
      if (req.format === "csv") {
        c.header("Content-Type", "text/csv; charset=utf-8");
        return c.body(eventsCsv(events));
      }
      c.header("Content-Type", "application/json; charset=utf-8");
      return c.body(JSON.stringify(events, null, 2));
    }
    return c.json({ host, events, total, limit: req.query.limit, offset: req.query.offset });
  });
  return app;
}

/** Local events straight from the log; another member's through deps.remoteEvents. */
async function fetchEvents(
  deps: PanelDeps,
  req: EventsRequest,
): Promise<{ events: Event[]; total: number | null; host: string }> {
  const hosts = deps.status().hosts;
  const self = hosts.find((h) => h.self)?.name ?? "local";
  if (req.host === undefined || req.host === self) {
    return {
      events: deps.events.query(req.query),
      total: deps.events.count(req.query),
      host: self,
    };
  }
  if (!hosts.some((h) => h.name === req.host)) {
    throw new HttpError(404, `no host named "${req.host}" in the cluster`);
  }
  if (!deps.remoteEvents) {
    throw new HttpError(
      400,
      `events of other hosts are not available here: open ${req.host}'s panel`,
    );
  }
  try {
    const events = await deps.remoteEvents(req.host, req.query);
    return { events, total: null, host: req.host };
  } catch (e) {
    throw new HttpError(502, `cannot read the events of ${req.host}: ${(e as Error).message}`);
  }
}
