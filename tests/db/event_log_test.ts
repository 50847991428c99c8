import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { SqliteEventLog } from "../../db/event_log.ts";
import { StateError } from "../../db/state_error.ts";
import { eventLogContract } from "./event_log_contract.ts";
import { openMigrated } from "./_temp_db.ts";

eventLogContract("SqliteEventLog", async () => {
  const dir = await Deno.makeTempDir({ prefix: "appliance_event_log_" });
  const db = openMigrated(`${dir}/state.db`);
  return {
    log: new SqliteEventLog(db),
    close: async () => {
      db.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

Deno.test("SqliteEventLog refuses a database that was not migrated", () => {
  const db = new DatabaseSync(":memory:");
  try {
    assert.throws(() => new SqliteEventLog(db), StateError);
    assert.throws(() => new SqliteEventLog(db), /no usable events table: call migrate\(db\) first/);
  } finally {
    db.close();
  }
});

Deno.test("SqliteEventLog query() by kind prefix and by host use their indexes", () => {
  const db = openMigrated(":memory:");
  try {
    const plan = (sql: string, ...params: (string | number)[]) =>
      db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params).map((row) => row.detail).join("\n");
    assert.match(plan("SELECT id FROM events WHERE kind GLOB ?", "vip.*"), /events_kind_ts/);
    assert.match(
      plan("SELECT id FROM events WHERE host = ? AND ts >= ?", "a", 1),
      /events_host_ts/,
    );
    assert.match(
      plan("SELECT id FROM events WHERE level >= ?", 3),
      /USING COVERING INDEX events_level_ts/,
    );
  } finally {
    db.close();
  }
});
