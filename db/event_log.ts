/**
 * The event log — what happened, on which host, when: the EventLog port and its SQLite
 * adapter. The in-memory fake (tests/_fakes/memory_event_log.ts) has the same semantics,
 * and both pass tests/db/event_log_contract.ts:
 *
 * - ids increase with every append and are never reused, not even after prune().
 * - query() orders matches by id (append order; for events logged as they happen, also
 *   time order), newest first unless `order` is "asc".
 * - `since` is inclusive and `until` exclusive: ts in [since, until).
 * - `kind` "a.b" matches exactly; "a.*" matches every kind that starts with "a." (what
 *   precedes the "*" is literal text).
 * - `level` is a minimum: "warn" matches warn and error.
 * - `search` matches a substring of the message, ignoring the case of ASCII letters.
 * - `afterId` keeps ids greater than it; to tail, pass order "asc" and the last id seen.
 * - `limit` defaults to 100 and is capped at 10000; `offset` skips that many matches.
 * - count() counts all matches, ignoring limit, offset and order.
 * - prune() deletes events with ts < now - maxAgeMs, then the oldest (lowest ids) beyond
 *   maxCount, and returns how many it deleted.
 *
 * Bad values (unknown level, negative limit...) throw a RangeError that says what is
 * allowed.
 */
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import { StateError } from "./state_error.ts";
import { StatementCache } from "./_statements.ts";
import { withTransaction } from "./_transaction.ts";

export type Level = "debug" | "info" | "warn" | "error";

export interface EventInput {
  /** Milliseconds since the Unix epoch. */
  ts: number;
  /** Name of the host the event happened on. */
  host: string;
  level: Level;
  /** Dotted category, e.g. "membership.dead". */
  kind: string;
  message: string;
  /** JSON-serialisable facts; stored and returned as JSON (a copy). */
  details?: Record<string, unknown>;
}

export interface Event extends EventInput {
  id: number;
  details: Record<string, unknown>;
}

export interface EventQuery {
  since?: number;
  until?: number;
  host?: string;
  /** Exact, or a prefix when it ends with "*", e.g. "membership.*". */
  kind?: string;
  /** Minimum level. */
  level?: Level;
  /** Substring of message, case-insensitive (ASCII). */
  search?: string;
  afterId?: number;
  /** Default 100, max 10000. */
  limit?: number;
  offset?: number;
  /** Default "desc". */
  order?: "asc" | "desc";
}

export interface EventLog {
  /** Appends one event and returns its id. */
  append(e: EventInput): number;
  /** Appends all events, or none if one is invalid. */
  appendMany(es: EventInput[]): void;
  query(q: EventQuery): Event[];
  count(q: EventQuery): number;
  /** Returns the number of events deleted. */
  prune(opts: { maxAgeMs?: number; maxCount?: number; now: number }): number;
}

export const LEVELS: readonly Level[] = ["debug", "info", "warn", "error"];
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

/** 0 for debug up to 3 for error. */
export function levelRank(level: string): number {
  const rank = LEVELS.indexOf(level as Level);
  if (rank < 0) {
    throw new RangeError(`unknown event level "${level}": use debug, info, warn or error`);
  }
  return rank;
}

/** Throws a RangeError if `e` cannot be stored. */
export function checkEvent(e: EventInput): void {
  levelRank(e.level);
  if (!Number.isFinite(e.ts)) {
    throw new RangeError(`event ts must be milliseconds since the epoch, got ${e.ts}`);
  }
}

/** An EventQuery checked, with defaults applied: what an adapter executes. */
export interface NormalizedQuery {
  since?: number;
  until?: number;
  host?: string;
  kind?: { text: string; prefix: boolean };
  minLevel?: number;
  /** Lowercased (ASCII). */
  search?: string;
  afterId?: number;
  limit: number;
  offset: number;
  order: "asc" | "desc";
}

export function normalizeQuery(q: EventQuery): NormalizedQuery {
  const limit = q.limit ?? DEFAULT_LIMIT;
  const offset = q.offset ?? 0;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new RangeError(`event query limit must be a whole number from 0 to 10000, got ${limit}`);
  }
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`event query offset must be a whole number >= 0, got ${offset}`);
  }
  const order = q.order ?? "desc";
  if (order !== "asc" && order !== "desc") {
    throw new RangeError(`event query order must be "asc" or "desc", got "${order}"`);
  }
  const kind = q.kind === undefined
    ? undefined
    : q.kind.endsWith("*")
    ? { text: q.kind.slice(0, -1), prefix: true }
    : { text: q.kind, prefix: false };
  return {
    since: q.since,
    until: q.until,
    host: q.host,
    kind,
    minLevel: q.level === undefined ? undefined : levelRank(q.level),
    search: q.search === undefined ? undefined : asciiLower(q.search),
    afterId: q.afterId,
    limit: Math.min(limit, MAX_LIMIT),
    offset,
    order,
  };
}

/** Lowercases A-Z only, as SQLite's lower() does. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

/** Throws a RangeError for a negative or non-numeric retention bound. */
export function checkPrune(opts: { maxAgeMs?: number; maxCount?: number; now: number }): void {
  for (const [name, value] of [["maxAgeMs", opts.maxAgeMs], ["maxCount", opts.maxCount]]) {
    if (value !== undefined && !(Number.isFinite(value) && (value as number) >= 0)) {
      throw new RangeError(`prune() ${name} must be a number >= 0, got ${value}`);
    }
  }
}

const COLUMNS = "id, ts, host, level, kind, message, details";

/** The EventLog on the `events` table of a migrated state database. */
export class SqliteEventLog implements EventLog {
  readonly #db: DatabaseSync;
  /** Cached by SQL text: a handful, one per combination of query filters. */
  readonly #sql: StatementCache;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#sql = new StatementCache(db);
    try {
      this.#sql.get(`SELECT ${COLUMNS} FROM events LIMIT 0`);
    } catch (err) {
      const message = "the state database has no usable events table: call migrate(db) first";
      throw new StateError(message, { cause: err });
    }
  }

  append(e: EventInput): number {
    checkEvent(e);
    const result = this.#sql.get(
      "INSERT INTO events (ts, host, level, kind, message, details) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(e.ts, e.host, levelRank(e.level), e.kind, e.message, JSON.stringify(e.details ?? {}));
    return Number(result.lastInsertRowid);
  }

  appendMany(es: EventInput[]): void {
    withTransaction(this.#db, () => es.forEach((e) => this.append(e)));
  }

  query(q: EventQuery): Event[] {
    const n = normalizeQuery(q);
    const { sql, params } = whereClause(n);
    const order = n.order === "asc" ? "ASC" : "DESC";
    return this.#sql.get(
      `SELECT ${COLUMNS} FROM events${sql} ORDER BY id ${order} LIMIT ? OFFSET ?`,
    )
      .all(...params, n.limit, n.offset)
      .map((row) => ({
        id: Number(row.id),
        ts: Number(row.ts),
        host: String(row.host),
        level: LEVELS[Number(row.level)],
        kind: String(row.kind),
        message: String(row.message),
        details: JSON.parse(String(row.details)),
      }));
  }

  count(q: EventQuery): number {
    const { sql, params } = whereClause(normalizeQuery(q));
    return Number(this.#sql.get(`SELECT count(*) AS n FROM events${sql}`).get(...params)?.n);
  }

  prune(opts: { maxAgeMs?: number; maxCount?: number; now: number }): number {
    checkPrune(opts);
    return withTransaction(this.#db, () => {
      let deleted = 0;
      if (opts.maxAgeMs !== undefined) {
        const cutoff = opts.now - opts.maxAgeMs;
        deleted += Number(this.#sql.get("DELETE FROM events WHERE ts < ?").run(cutoff).changes);
      }
      if (opts.maxCount !== undefined) {
        // Everything at or below the id of the (maxCount+1)-th newest event goes.
        deleted += Number(
          this.#sql.get(
            "DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)",
          ).run(opts.maxCount).changes,
        );
      }
      return deleted;
    });
  }
}

function whereClause(n: NormalizedQuery): { sql: string; params: SQLInputValue[] } {
  const clauses: string[] = [];
  const params: SQLInputValue[] = [];
  const add = (clause: string, value: SQLInputValue) => {
    clauses.push(clause);
    params.push(value);
  };
  if (n.since !== undefined) add("ts >= ?", n.since);
  if (n.until !== undefined) add("ts < ?", n.until);
  if (n.host !== undefined) add("host = ?", n.host);
  if (n.kind?.prefix) add("kind GLOB ?", n.kind.text.replace(/[*?[]/g, "[$&]") + "*");
  else if (n.kind) add("kind = ?", n.kind.text);
  if (n.minLevel !== undefined) add("level >= ?", n.minLevel);
  if (n.search !== undefined) add("instr(lower(message), ?) > 0", n.search);
  if (n.afterId !== undefined) add("id > ?", n.afterId);
  return { sql: clauses.length ? ` WHERE ${clauses.join(" AND ")}` : "", params };
}
