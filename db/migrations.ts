/**
 * The schema of the state database, as an ordered list of migrations.
 *
 * `MIGRATIONS[i]` takes the schema from version i to version i+1; the version a database
 * is at lives in the one-row `schema_version` table (0 when absent). Append new
 * migrations at the end; never edit one that has shipped.
 *
 * Tables, and which module owns them:
 *   events          event_log.ts    one row per event; ids never reused (AUTOINCREMENT),
 *                                   so an `afterId` cursor stays valid across prune()
 *   config_history  state_store.ts  cluster config as JSON text, by version (last 50 kept)
 *   identity        state_store.ts  this host's id, name, interface, address (one row)
 *   secrets         state_store.ts  keys and certificates, by name (apart, for redaction)
 *   join_tokens     state_store.ts  single-use join tokens
 *   local_state     state_store.ts  small values: admin password hash, incarnation
 *   settings        state_store.ts  generic string settings
 */
import type { DatabaseSync } from "node:sqlite";
import { StateError } from "./state_error.ts";
import { withTransaction } from "./_transaction.ts";

export const MIGRATIONS: readonly string[] = [
  // 1: the event log
  `CREATE TABLE events (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     ts INTEGER NOT NULL,
     host TEXT NOT NULL,
     level INTEGER NOT NULL CHECK (level BETWEEN 0 AND 3),
     kind TEXT NOT NULL,
     message TEXT NOT NULL,
     details TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX events_ts ON events (ts);
   CREATE INDEX events_host_ts ON events (host, ts);
   CREATE INDEX events_kind_ts ON events (kind, ts);
   CREATE INDEX events_level_ts ON events (level, ts);`,

  // 2: the local state store
  `CREATE TABLE config_history (
     version INTEGER PRIMARY KEY,
     config TEXT NOT NULL
   );
   CREATE TABLE identity (
     only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
     host_id INTEGER NOT NULL CHECK (host_id BETWEEN 1 AND 4294967295),
     name TEXT NOT NULL,
     interface TEXT NOT NULL,
     address TEXT NOT NULL
   );
   CREATE TABLE secrets (
     name TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE join_tokens (
     id TEXT PRIMARY KEY,
     secret_hash TEXT NOT NULL,
     expires_at INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     used_at INTEGER
   );
   CREATE TABLE local_state (
     key TEXT PRIMARY KEY,
     value NOT NULL -- no declared type: integers stay integers, text stays text
   );
   CREATE TABLE settings (
     key TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );`,
];

/** The schema version of `db`: 0 for a database no migration has touched. */
export function schemaVersion(db: DatabaseSync): number {
  const table = db.prepare(
    "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'",
  ).get();
  if (!table) return 0;
  const row = db.prepare("SELECT version FROM schema_version").get();
  return row ? Number(row.version) : 0;
}

/**
 * Brings `db` up to the newest schema, one transaction per migration, so a failure
 * leaves the database at the last version that fully applied. Safe to run on every start
 * and from two processes at once (each step re-reads the version under the write lock).
 * Refuses, changing nothing, a database written by a newer program.
 */
export function migrate(db: DatabaseSync, migrations: readonly string[] = MIGRATIONS): void {
  refuseNewer(db, migrations.length);
  for (let target = 1; target <= migrations.length; target++) {
    try {
      withTransaction(db, () => {
        if (schemaVersion(db) >= target) return;
        db.exec(
          "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);" +
            migrations[target - 1],
        );
        db.exec("DELETE FROM schema_version");
        db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(target);
      });
    } catch (err) {
      throw new StateError(
        `cannot upgrade the state database at ${where(db)} to schema version ${target}: ` +
          `${err instanceof Error ? err.message : err}; it was left at version ` +
          `${target - 1} (free disk space and restart, or report this as a bug)`,
        { cause: err },
      );
    }
  }
}

function refuseNewer(db: DatabaseSync, known: number): void {
  const version = schemaVersion(db);
  if (version <= known) return;
  throw new StateError(
    `the state database at ${where(db)} has schema version ${version}, but this program knows ` +
      `only up to ${known}: it was written by a newer appliance; upgrade this binary`,
  );
}

function where(db: DatabaseSync): string {
  return db.location() ?? "(in memory)";
}
