/**
 * An in-memory EventLog with the semantics of SqliteEventLog (see db/event_log.ts); both
 * pass tests/db/event_log_contract.ts. Events are copied in and out through JSON, as the
 * database stores them, so callers cannot change stored events by mutating objects.
 */
import {
  asciiLower,
  checkEvent,
  checkPrune,
  type Event,
  type EventInput,
  type EventLog,
  type EventQuery,
  levelRank,
  type NormalizedQuery,
  normalizeQuery,
} from "../../db/event_log.ts";

export class MemoryEventLog implements EventLog {
  /** In id order. */
  #events: Event[] = [];
  #lastId = 0;

  append(e: EventInput): number {
    return this.#store([e])[0];
  }

  appendMany(es: EventInput[]): void {
    this.#store(es);
  }

  query(q: EventQuery): Event[] {
    const n = normalizeQuery(q);
    const matches = this.#events.filter((e) => matchesQuery(e, n));
    if (n.order === "desc") matches.reverse();
    return matches.slice(n.offset, n.offset + n.limit).map(copy);
  }

  count(q: EventQuery): number {
    const n = normalizeQuery(q);
    return this.#events.filter((e) => matchesQuery(e, n)).length;
  }

  prune(opts: { maxAgeMs?: number; maxCount?: number; now: number }): number {
    checkPrune(opts);
    const before = this.#events.length;
    if (opts.maxAgeMs !== undefined) {
      const cutoff = opts.now - opts.maxAgeMs;
      this.#events = this.#events.filter((e) => !(e.ts < cutoff));
    }
    if (opts.maxCount !== undefined && this.#events.length > opts.maxCount) {
      this.#events = this.#events.slice(this.#events.length - opts.maxCount);
    }
    return before - this.#events.length;
  }

  /** All or nothing, like the SQLite transaction: check and copy every event first. */
  #store(es: EventInput[]): number[] {
    es.forEach(checkEvent);
    const copies = es.map((e) =>
      copy({
        id: 0,
        ts: e.ts,
        host: e.host,
        level: e.level,
        kind: e.kind,
        message: e.message,
        details: e.details ?? {},
      })
    );
    return copies.map((e) => {
      e.id = ++this.#lastId;
      this.#events.push(e);
      return e.id;
    });
  }
}

function matchesQuery(e: Event, n: NormalizedQuery): boolean {
  if (n.since !== undefined && !(e.ts >= n.since)) return false;
  if (n.until !== undefined && !(e.ts < n.until)) return false;
  if (n.host !== undefined && e.host !== n.host) return false;
  if (n.kind?.prefix && !e.kind.startsWith(n.kind.text)) return false;
  if (n.kind && !n.kind.prefix && e.kind !== n.kind.text) return false;
  if (n.minLevel !== undefined && levelRank(e.level) < n.minLevel) return false;
  if (n.search !== undefined && !asciiLower(e.message).includes(n.search)) return false;
  if (n.afterId !== undefined && !(e.id > n.afterId)) return false;
  return true;
}

function copy(e: Event): Event {
  return JSON.parse(JSON.stringify(e));
}
