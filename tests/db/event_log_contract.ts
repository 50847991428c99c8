/**
 * The contract every EventLog passes: run by event_log_test.ts (SQLite on a temp file)
 * and tests/_fakes/memory_event_log_test.ts (in memory).
 */
import assert from "node:assert/strict";
import type { EventInput, EventLog, EventQuery } from "../../db/event_log.ts";

export interface EventLogFixture {
  log: EventLog;
  close(): void | Promise<void>;
}

function event(fields: Partial<EventInput> = {}): EventInput {
  return { ts: 1000, host: "a", level: "info", kind: "test", message: "m", ...fields };
}

/** Registers the contract tests, each named "<name>: <behaviour>", on fresh logs from `make`. */
export function eventLogContract(
  name: string,
  make: () => EventLogFixture | Promise<EventLogFixture>,
): void {
  const test = (behaviour: string, fn: (log: EventLog) => void) =>
    Deno.test(`${name}: ${behaviour}`, async () => {
      const fixture = await make();
      try {
        fn(fixture.log);
      } finally {
        await fixture.close();
      }
    });
  const ids = (log: EventLog, q: EventQuery) => log.query(q).map((e) => e.id);
  const messages = (log: EventLog, q: EventQuery) => log.query(q).map((e) => e.message);

  test("append() returns increasing ids and query() returns the stored event", (log) => {
    const first = log.append(event({ details: { peer: "b", bits: [1, 2], nested: { x: null } } }));
    const second = log.append(event({ ts: 2000, level: "warn", kind: "k", message: "two" }));
    assert.ok(second > first);
    assert.deepEqual(log.query({ order: "asc" }), [
      {
        id: first,
        ts: 1000,
        host: "a",
        level: "info",
        kind: "test",
        message: "m",
        details: { peer: "b", bits: [1, 2], nested: { x: null } },
      },
      { id: second, ts: 2000, host: "a", level: "warn", kind: "k", message: "two", details: {} },
    ]);
  });

  test("query() returns newest first by default and oldest first with order asc", (log) => {
    log.appendMany([event({ message: "1" }), event({ message: "2" }), event({ message: "3" })]);
    assert.deepEqual(messages(log, {}), ["3", "2", "1"]);
    assert.deepEqual(messages(log, { order: "asc" }), ["1", "2", "3"]);
  });

  test("query() keeps events with since <= ts < until", (log) => {
    log.appendMany([100, 200, 300, 400].map((ts) => event({ ts, message: String(ts) })));
    assert.deepEqual(messages(log, { since: 200, until: 400, order: "asc" }), ["200", "300"]);
    assert.deepEqual(messages(log, { since: 300, order: "asc" }), ["300", "400"]);
    assert.deepEqual(messages(log, { until: 200 }), ["100"]);
  });

  test("query() filters by host", (log) => {
    log.appendMany([event({ host: "a" }), event({ host: "b" }), event({ host: "ab" })]);
    assert.deepEqual(log.query({ host: "b" }).map((e) => e.host), ["b"]);
  });

  test("query() matches a kind without * exactly", (log) => {
    log.appendMany(["membership", "membership.dead", "membershipx"].map((kind) => event({ kind })));
    assert.deepEqual(log.query({ kind: "membership" }).map((e) => e.kind), ["membership"]);
  });

  test("query() matches a kind ending in * as a prefix", (log) => {
    const kinds = ["membership.dead", "membership", "membership.join", "config.membership.x"];
    log.appendMany(kinds.map((kind) => event({ kind })));
    assert.deepEqual(log.query({ kind: "membership.*", order: "asc" }).map((e) => e.kind), [
      "membership.dead",
      "membership.join",
    ]);
    assert.equal(log.count({ kind: "*" }), 4);
  });

  test("query() takes the characters before * in a kind literally", (log) => {
    log.appendMany(["a?b.x", "axb.x", "a[b.y", "a%b.z", "aXb.z"].map((kind) => event({ kind })));
    assert.deepEqual(log.query({ kind: "a?b.*" }).map((e) => e.kind), ["a?b.x"]);
    assert.deepEqual(log.query({ kind: "a[b.*" }).map((e) => e.kind), ["a[b.y"]);
    assert.deepEqual(log.query({ kind: "a%b.*" }).map((e) => e.kind), ["a%b.z"]);
  });

  test("query() treats level as a minimum", (log) => {
    const levels = ["debug", "info", "warn", "error"] as const;
    log.appendMany(levels.map((level) => event({ level })));
    assert.deepEqual(log.query({ level: "warn", order: "asc" }).map((e) => e.level), [
      "warn",
      "error",
    ]);
    assert.equal(log.count({ level: "debug" }), 4);
    assert.equal(log.count({ level: "error" }), 1);
  });

  test("query() searches message substrings ignoring case", (log) => {
    log.appendMany([
      event({ message: "Claimed 10.0.0.1 on eth1" }),
      event({ message: "released 10.0.0.2" }),
      event({ message: "axb" }),
    ]);
    assert.deepEqual(messages(log, { search: "CLAIMED" }), ["Claimed 10.0.0.1 on eth1"]);
    assert.equal(log.count({ search: "10.0.0." }), 2);
    assert.equal(log.count({ search: "a%b" }), 0, "% is not a wildcard");
    assert.equal(log.count({ search: "a_b" }), 0, "_ is not a wildcard");
  });

  test("query() with afterId returns only later events, so a reader can tail", (log) => {
    const [first, second] = [log.append(event()), log.append(event())];
    assert.deepEqual(ids(log, { afterId: first, order: "asc" }), [second]);
    const third = log.append(event());
    assert.deepEqual(ids(log, { afterId: second, order: "asc" }), [third]);
    assert.deepEqual(ids(log, { afterId: third }), []);
  });

  test("query() pages with limit and offset", (log) => {
    log.appendMany([1, 2, 3, 4, 5].map((n) => event({ message: String(n) })));
    assert.deepEqual(messages(log, { limit: 2 }), ["5", "4"]);
    assert.deepEqual(messages(log, { limit: 2, offset: 2 }), ["3", "2"]);
    assert.deepEqual(messages(log, { limit: 2, offset: 4 }), ["1"]);
    assert.deepEqual(messages(log, { limit: 2, offset: 1, order: "asc" }), ["2", "3"]);
    assert.deepEqual(messages(log, { limit: 0 }), []);
  });

  test("query() returns 100 events by default and at most 10000", (log) => {
    log.appendMany(Array.from({ length: 10_001 }, (_, i) => event({ ts: i })));
    assert.equal(log.query({}).length, 100);
    assert.equal(log.query({ limit: 20_000 }).length, 10_000);
  });

  test("query() combines filters with AND", (log) => {
    log.appendMany([
      event({ ts: 10, host: "a", kind: "vip.claim", level: "warn", message: "hit" }),
      event({ ts: 10, host: "b", kind: "vip.claim", level: "warn", message: "other host" }),
      event({ ts: 10, host: "a", kind: "vip.claim", level: "info", message: "too low" }),
      event({ ts: 10, host: "a", kind: "cfg.push", level: "warn", message: "other kind" }),
      event({ ts: 99, host: "a", kind: "vip.claim", level: "warn", message: "too late" }),
    ]);
    const q: EventQuery = { host: "a", kind: "vip.*", level: "warn", until: 50 };
    assert.deepEqual(messages(log, q), ["hit"]);
    assert.equal(log.count(q), 1);
  });

  test("count() counts every match, ignoring limit and offset", (log) => {
    log.appendMany(Array.from({ length: 7 }, () => event({ host: "x" })));
    log.append(event({ host: "y" }));
    assert.equal(log.count({ host: "x", limit: 2, offset: 3 }), 7);
    assert.equal(log.count({}), 8);
  });

  test("query() rejects an unknown level, a negative limit and a fractional offset", (log) => {
    assert.throws(() => log.query({ level: "fatal" as "error" }), {
      name: "RangeError",
      message: /unknown event level "fatal": use debug, info, warn or error/,
    });
    assert.throws(() => log.query({ limit: -1 }), /limit must be a whole number from 0 to 10000/);
    assert.throws(() => log.count({ offset: 1.5 }), /offset must be a whole number/);
  });

  test("append() rejects an unknown level and stores nothing", (log) => {
    assert.throws(() => log.append(event({ level: "loud" as "info" })), /unknown event level/);
    assert.equal(log.count({}), 0);
  });

  test("appendMany() stores all events or none", (log) => {
    assert.throws(() => log.appendMany([event(), event({ level: "bad" as "info" })]));
    assert.equal(log.count({}), 0);
    log.appendMany([event(), event()]);
    assert.equal(log.count({}), 2);
  });

  test("stored events do not change when the caller mutates objects", (log) => {
    const input = event({ details: { n: 1 } });
    log.append(input);
    input.details!.n = 2;
    log.query({})[0].details.n = 3;
    assert.deepEqual(log.query({})[0].details, { n: 1 });
  });

  test("prune() deletes events older than maxAgeMs", (log) => {
    log.appendMany([100, 499, 500, 900].map((ts) => event({ ts, message: String(ts) })));
    assert.equal(log.prune({ maxAgeMs: 500, now: 1000 }), 2);
    assert.deepEqual(messages(log, { order: "asc" }), ["500", "900"]);
  });

  test("prune() keeps only the newest maxCount events", (log) => {
    log.appendMany([1, 2, 3, 4, 5].map((n) => event({ message: String(n) })));
    assert.equal(log.prune({ maxCount: 2, now: 0 }), 3);
    assert.deepEqual(messages(log, {}), ["5", "4"]);
    assert.equal(log.prune({ maxCount: 2, now: 0 }), 0);
    assert.equal(log.prune({ maxCount: 0, now: 0 }), 2);
    assert.equal(log.count({}), 0);
  });

  test("prune() applies maxAgeMs then maxCount and returns the total deleted", (log) => {
    log.appendMany([10, 20, 900, 910, 920].map((ts) => event({ ts, message: String(ts) })));
    assert.equal(log.prune({ maxAgeMs: 500, maxCount: 2, now: 1000 }), 3);
    assert.deepEqual(messages(log, {}), ["920", "910"]);
  });

  test("prune() rejects a negative bound and deletes nothing", (log) => {
    log.append(event());
    assert.throws(() => log.prune({ maxCount: -1, now: 0 }), /maxCount must be a number >= 0/);
    assert.throws(() => log.prune({ maxAgeMs: NaN, now: 0 }), /maxAgeMs must be a number >= 0/);
    assert.equal(log.count({}), 1);
  });

  test("ids are never reused, even after prune() deleted every event", (log) => {
    const last = log.append(event());
    log.prune({ maxCount: 0, now: 0 });
    assert.ok(log.append(event()) > last);
  });
}
