/**
 * Opening the local state database: one SQLite file per host, in the state dir.
 *
 * Durability: WAL journal with `synchronous=NORMAL`. A commit is complete once its frames
 * are written to the -wal file (into the OS page cache), so it survives the process being
 * killed at any instant, kill -9 included (tests/db/kill_durability_test.ts proves it).
 * What NORMAL gives up against FULL is one fsync per commit: after an OS crash or a power
 * loss the last few commits may be lost, but the database stays consistent, never
 * corrupt. What can be lost that way is re-learnt from peers (config) or is history
 * (events).
 *
 * Safety: an existing file passes `PRAGMA quick_check` before anything writes to it. A
 * file that is not a database, or is damaged, is refused with a StateError and left byte
 * for byte as it was, so it can still be examined or recovered.
 *
 * New files are created mode 0600: the database holds the cluster key and the CA key.
 * SQLite gives the -wal and -shm files the same mode as the database.
 */
import { DatabaseSync } from "node:sqlite";
import { dirname } from "node:path";
import { StateError } from "./state_error.ts";

export interface OpenOptions {
  /** Create the file if it is missing (`init`, `join`). If false, a missing file is a StateError. */
  create: boolean;
}

/** SQLite primary result codes that mean "this file is damaged or not a database". */
const SQLITE_CORRUPT = 11;
const SQLITE_NOTADB = 26;

/**
 * Opens (and with `create`, creates) the state database at `path`. `":memory:"` opens a
 * private in-memory database, for tests. The caller runs `migrate(db)` next.
 */
export function openDatabase(path: string, opts: OpenOptions): DatabaseSync {
  const inMemory = path === ":memory:";
  if (!inMemory && !fileExists(path)) {
    if (!opts.create) {
      throw new StateError(
        `no state database at ${path}: run \`appliance init\` or \`appliance join\` first, ` +
          "or pass --state-dir",
      );
    }
    createPrivateFile(path);
  }
  const db = connect(path);
  try {
    // Connection settings only: nothing below writes to the file until the check passed.
    db.exec("PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON");
    checkIntegrity(db, path);
    const mode = db.prepare("PRAGMA journal_mode = WAL").get()?.journal_mode;
    if (!inMemory && mode !== "wal") {
      throw new StateError(
        `cannot use the state database at ${path} in WAL mode (journal mode stays "${mode}"): ` +
          "put the state dir on a local filesystem, or pass --state-dir",
      );
    }
    db.exec("PRAGMA synchronous = NORMAL");
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

function fileExists(path: string): boolean {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw new StateError(`cannot read the state database at ${path}: ${messageOf(err)}`);
  }
  if (!info.isFile) {
    throw new StateError(
      `the state database path ${path} is not a regular file: remove it, or pass --state-dir`,
    );
  }
  return true;
}

function createPrivateFile(path: string): void {
  try {
    Deno.openSync(path, { write: true, createNew: true, mode: 0o600 }).close();
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) return; // created meanwhile: open it
    if (err instanceof Deno.errors.NotFound) {
      throw new StateError(
        `cannot create the state database at ${path}: directory ${dirname(path)} does not ` +
          "exist (create it, or pass --state-dir)",
      );
    }
    throw new StateError(`cannot create the state database at ${path}: ${messageOf(err)}`);
  }
}

function connect(path: string): DatabaseSync {
  try {
    return new DatabaseSync(path);
  } catch (err) {
    throw new StateError(
      `cannot open the state database at ${path}: ${messageOf(err)} ` +
        "(check the file's owner and permissions)",
    );
  }
}

function checkIntegrity(db: DatabaseSync, path: string): void {
  let problems: string[];
  try {
    problems = db.prepare("PRAGMA quick_check").all().map((row) => String(row.quick_check));
  } catch (err) {
    const code = (err as { errcode?: number }).errcode ?? 0;
    if ((code & 0xff) !== SQLITE_CORRUPT && (code & 0xff) !== SQLITE_NOTADB) {
      throw new StateError(`cannot read the state database at ${path}: ${messageOf(err)}`);
    }
    problems = [messageOf(err)];
  }
  if (problems.length === 1 && problems[0] === "ok") return;
  const first = problems[0].replace("*** in database main ***", "").trim().replace(/\s+/g, " ");
  throw new StateError(
    `the state database at ${path} is corrupt (${first}); it was left unchanged. ` +
      `Move it aside (mv ${path} ${path}.corrupt) and re-join with \`appliance join\`, ` +
      "or restore it from a backup",
  );
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
