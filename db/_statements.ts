/**
 * Prepared statements cached by SQL text, one cache per adapter instance (private to db/).
 * Statements are prepared on first use and finalized by SQLite when the database closes.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";

export class StatementCache {
  readonly #db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  get(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
