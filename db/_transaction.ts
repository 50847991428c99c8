/**
 * One helper to run a function inside a write transaction (private to db/).
 *
 * `BEGIN IMMEDIATE` takes the write lock up front, so two connections never both read
 * inside a transaction and then fail to upgrade; waiting for the lock obeys busy_timeout.
 * Called while a transaction is already open, it joins that transaction instead of
 * nesting (SQLite has no nested BEGIN).
 */
import type { DatabaseSync } from "node:sqlite";

export function withTransaction<T>(db: DatabaseSync, fn: () => T): T {
  if (db.isTransaction) return fn();
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}
