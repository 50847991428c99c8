/**
 * `appliance events`: the event log. This host's events come straight from the local
 * database, so they can be read while the agent is down; another member's come through
 * the local agent (GET /events?host=NAME, which asks that member's peer API).
 *
 *     newest N matches, printed oldest first ──--follow──► poll for ids after the last one
 *                                                        (250 ms local, 1 s remote) until ^C
 */
import {
  CliError,
  type Command,
  COMMON_HELP,
  intFlag,
  parseFlags,
  printJson,
  UsageError,
} from "./cli.ts";
import { openState } from "./config_cmd.ts";
import { AgentNotRunning, callAgent } from "../control/control_client.ts";
import {
  asciiLower,
  DEFAULT_LIMIT,
  type Event,
  type EventQuery,
  type Level,
  levelRank,
  LEVELS,
  MAX_LIMIT,
} from "../../db/event_log.ts";
import { parseDuration } from "../security/duration.ts";

const LOCAL_POLL_MS = 250;
const REMOTE_POLL_MS = 1000;

const HELP = `Usage:
  appliance events [--since T] [--kind K] [--host H] [--level L] [--search S] [--limit N]
                   [--follow] [--json]

Shows the event log: what happened on a host, and when (state changes, peers up and
down, config changes...), oldest first. This host's events are read from its own
database and need no running agent; another host's are fetched through the agent.

Options:
  --since T    events at or after T: an ISO time (2026-11-24T23:00:00Z) or a duration
               ago (90s, 10m, 2h, 1d) (default: no bound)
  --kind K     an exact kind (peer.down) or a prefix ending in * (peer.*)
  --host H     the host whose events to show (default: this host)
  --level L    minimum level: debug, info, warn or error (default: all)
  --search S   only events whose message contains S (case-insensitive)
  --limit N    show the newest N matching events, 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT})
  --follow     then keep printing new events as they come, until Ctrl-C; with --json,
               one JSON object per line

Examples:
  appliance events --since 1h --level warn
  appliance events --host web2 --kind peer.* --follow

${COMMON_HELP}`;

/** The filters of one `events` call; `host` is set only for another member. */
export interface EventFilter {
  since?: number;
  kind?: string;
  level?: Level;
  search?: string;
  limit: number;
}

/** Reads events after `afterId` (or the newest `limit` when undefined), oldest first. */
type Source = (afterId?: number) => Promise<Event[]>;

export const eventsCommand: Command = {
  name: "events",
  summary: "show the event log of this host or another",
  help: HELP,
  async run(args) {
    const f = parseFlags({ name: "events", help: HELP }, args, {
      since: { type: "string" },
      kind: { type: "string" },
      host: { type: "string" },
      level: { type: "string" },
      search: { type: "string" },
      limit: { type: "string" },
      follow: { type: "boolean", default: false },
    });
    if (!f) return 0;
    const v = f.values;
    const filter: EventFilter = {
      since: v.since === undefined ? undefined : parseSince(String(v.since), Date.now()),
      kind: v.kind as string | undefined,
      level: v.level === undefined ? undefined : parseLevel(String(v.level)),
      search: v.search as string | undefined,
      limit: intFlag("events", v.limit, "--limit", 1, MAX_LIMIT) ?? DEFAULT_LIMIT,
    };
    const dir = v["state-dir"] as string;
    const state = openState(dir);
    try {
      const host = v.host as string | undefined;
      const self = state.store.getIdentity();
      const local = host === undefined || host === self?.name || host === String(self?.hostId);
      const source: Source = local
        ? (afterId) => Promise.resolve(localEvents((q) => state.events.query(q), filter, afterId))
        : (afterId) => remoteEvents(dir, host!, filter, afterId);
      return await show(source, filter, {
        json: v.json as boolean,
        follow: v.follow as boolean,
        intervalMs: local ? LOCAL_POLL_MS : REMOTE_POLL_MS,
      });
    } finally {
      state.close();
    }
  },
};

/** An ISO time, or a duration ago; anything else is a UsageError naming both forms. */
export function parseSince(text: string, now: number): number {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (Number.isFinite(t)) return t;
  }
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  throw new UsageError(
    `events: --since must be an ISO time such as 2026-11-24T23:00:00Z or a duration ago ` +
      `such as 90s, 10m, 2h or 1d, got "${text}"`,
  );
}

function parseLevel(text: string): Level {
  if ((LEVELS as readonly string[]).includes(text)) return text as Level;
  throw new UsageError(`events: --level must be ${LEVELS.join(", ")}, got "${text}"`);
}

export function localEvents(
  query: (q: EventQuery) => Event[],
  filter: EventFilter,
  afterId?: number,
): Event[] {
  const { limit, ...q } = filter;
  if (afterId !== undefined) return query({ ...q, afterId, order: "asc", limit: MAX_LIMIT });
  return query({ ...q, limit, order: "desc" }).reverse();
}

async function remoteEvents(
  dir: string,
  host: string,
  filter: EventFilter,
  afterId?: number,
): Promise<Event[]> {
  // The peer API filters by since, kind and afterId; level and search are sent along but
  // also applied here, so the newest `limit` are counted after them.
  const narrowed = filter.level !== undefined || filter.search !== undefined;
  const qs = new URLSearchParams({ host });
  if (filter.since !== undefined) qs.set("since", String(filter.since));
  if (filter.kind !== undefined) qs.set("kind", filter.kind);
  if (filter.level !== undefined) qs.set("level", filter.level);
  if (filter.search !== undefined) qs.set("search", filter.search);
  if (afterId !== undefined) qs.set("afterId", String(afterId));
  qs.set("order", afterId === undefined ? "desc" : "asc");
  qs.set("limit", String(afterId === undefined && !narrowed ? filter.limit : MAX_LIMIT));
  let events: Event[];
  try {
    events = await callAgent<Event[]>(dir, "GET", `/events?${qs}`);
  } catch (e) {
    const why = e instanceof AgentNotRunning
      ? `the events of another host come through the local agent: ${e.message}`
      : (e as Error).message;
    throw new CliError(`events --host ${host}: ${why}`);
  }
  const kept = events.filter((e) => matches(e, filter));
  return afterId === undefined ? kept.slice(0, filter.limit).reverse() : kept;
}

function matches(e: Event, f: EventFilter): boolean {
  if (f.level !== undefined && levelRank(e.level) < levelRank(f.level)) return false;
  return f.search === undefined || asciiLower(e.message).includes(asciiLower(f.search));
}

/** `2026-11-24T23:01:02.345Z  warn   peer.down        h2  host h3 is down: ...` */
export function formatEvent(e: Event): string {
  return `${new Date(e.ts).toISOString()}  ${e.level.padEnd(5)}  ${e.kind.padEnd(15)}  ` +
    `${e.host}  ${e.message}`;
}

async function show(
  source: Source,
  filter: EventFilter,
  opts: { json: boolean; follow: boolean; intervalMs: number },
): Promise<number> {
  if (!opts.follow) {
    const events = await source();
    if (opts.json) printJson(events);
    else if (events.length === 0) console.log(nothingMatches(filter));
    else events.forEach((e) => console.log(formatEvent(e)));
    return 0;
  }
  const print = (e: Event) => console.log(opts.json ? JSON.stringify(e) : formatEvent(e));
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSigint);
  try {
    const first = await source();
    first.forEach(print);
    await followEvents({
      source,
      print,
      lastId: first.at(-1)?.id ?? 0,
      signal: stop.signal,
      intervalMs: opts.intervalMs,
    });
  } catch (e) {
    // `appliance events --follow | head`: the reader went away, which ends the follow.
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  } finally {
    Deno.removeSignalListener("SIGINT", onSigint);
  }
  return 0;
}

function nothingMatches(f: EventFilter): string {
  const filtered = f.since !== undefined || f.kind !== undefined || f.level !== undefined ||
    f.search !== undefined;
  return filtered
    ? "no events match (loosen --since, --kind, --level or --search)"
    : "no events yet";
}

/** Polls `source` for events after the last one printed until `signal` aborts. */
export async function followEvents(opts: {
  source: Source;
  print: (e: Event) => void;
  lastId: number;
  signal: AbortSignal;
  intervalMs: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}): Promise<void> {
  const sleep = opts.sleep ?? abortableSleep;
  let lastId = opts.lastId;
  while (!opts.signal.aborted) {
    await sleep(opts.intervalMs, opts.signal);
    if (opts.signal.aborted) break;
    for (const e of await opts.source(lastId)) {
      opts.print(e);
      lastId = e.id;
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
