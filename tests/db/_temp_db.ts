/** Temp-dir helpers for the db tests (private to tests/db/). */
import type { DatabaseSync } from "node:sqlite";
import { openDatabase } from "../../db/database.ts";
import { migrate } from "../../db/migrations.ts";

/** Runs `fn` with a fresh temp directory, and removes it afterwards whatever happens. */
export async function withTempDir(fn: (dir: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "appliance_db_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Opens (creating if needed) and migrates the state database at `path`. */
export function openMigrated(path: string): DatabaseSync {
  const db = openDatabase(path, { create: true });
  migrate(db);
  return db;
}
