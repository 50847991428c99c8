import assert from "node:assert/strict";
import type { DatabaseSync } from "node:sqlite";
import { openDatabase } from "../../db/database.ts";
import { migrate, MIGRATIONS, schemaVersion } from "../../db/migrations.ts";
import { StateError } from "../../db/state_error.ts";

function withMemoryDb(fn: (db: DatabaseSync) => void): void {
  const db = openDatabase(":memory:", { create: true });
  try {
    fn(db);
  } finally {
    db.close();
  }
}

const tables = (db: DatabaseSync) =>
  db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").all()
    .map((row) => row.name);

Deno.test("migrate() brings a new database to the newest schema version", () => {
  withMemoryDb((db) => {
    assert.equal(schemaVersion(db), 0);
    migrate(db);
    assert.equal(schemaVersion(db), MIGRATIONS.length);
    for (const table of ["events", "config_history", "join_tokens", "local_state", "settings"]) {
      assert.ok(tables(db).includes(table), `table ${table} exists`);
    }
    const indexes = db.prepare("PRAGMA index_list(events)").all().map((row) => row.name).sort();
    assert.deepEqual(indexes, ["events_host_ts", "events_kind_ts", "events_level_ts", "events_ts"]);
  });
});

Deno.test("migrate() is idempotent: running it again changes nothing", () => {
  withMemoryDb((db) => {
    migrate(db);
    db.exec("INSERT INTO settings (key, value) VALUES ('k', 'v')");
    const before = tables(db);
    migrate(db);
    migrate(db);
    assert.equal(schemaVersion(db), MIGRATIONS.length);
    assert.deepEqual(tables(db), before);
    assert.equal(db.prepare("SELECT count(*) AS n FROM schema_version").get()?.n, 1);
    assert.equal(db.prepare("SELECT value FROM settings WHERE key = 'k'").get()?.value, "v");
  });
});

Deno.test("migrate() applies only the migrations a database lacks", () => {
  withMemoryDb((db) => {
    migrate(db, ["CREATE TABLE a (x)"]);
    db.exec("INSERT INTO a VALUES (1)");
    migrate(db, ["CREATE TABLE a (x)", "ALTER TABLE a ADD COLUMN y DEFAULT 2"]);
    assert.equal(schemaVersion(db), 2);
    assert.deepEqual({ ...db.prepare("SELECT x, y FROM a").get() }, { x: 1, y: 2 });
  });
});

Deno.test("migrate() rolls back a failing migration and keeps the last good version", () => {
  withMemoryDb((db) => {
    const broken = ["CREATE TABLE a (x)", "CREATE TABLE b (x); CREATE TABLE a (y)"];
    assert.throws(() => migrate(db, broken), {
      name: "StateError",
      message:
        /cannot upgrade .* to schema version 2: .*table a already exists.* left at version 1/,
    });
    assert.equal(schemaVersion(db), 1);
    assert.ok(!tables(db).includes("b"), "the half-applied migration left no table b");
    assert.equal(db.isTransaction, false);
  });
});

Deno.test("migrate() refuses a database written by a newer appliance and leaves it as is", () => {
  withMemoryDb((db) => {
    migrate(db);
    db.exec(`UPDATE schema_version SET version = ${MIGRATIONS.length + 1}`);
    assert.throws(() => migrate(db), (err: Error) => {
      assert.ok(err instanceof StateError);
      assert.match(err.message, /written by a newer appliance; upgrade this binary/);
      assert.match(err.message, new RegExp(`version ${MIGRATIONS.length + 1}`));
      return true;
    });
    assert.equal(schemaVersion(db), MIGRATIONS.length + 1);
  });
});
