/**
 * Reading an agent's event log straight from its SQLite file, read-only, while the agent
 * runs (WAL lets a reader in beside the writer).
 */
import { DatabaseSync } from "node:sqlite";
import { dbPath } from "../../agent/state_dir.ts";

export interface LoggedEvent {
  id: number;
  ts: number;
  host: string;
  kind: string;
  message: string;
  details: Record<string, unknown>;
}

/** Events of `kinds` with ts >= since, oldest first. */
export function readEvents(stateDir: string, kinds: string[], since: number): LoggedEvent[] {
  const db = new DatabaseSync(dbPath(stateDir), { readOnly: true });
  try {
    db.exec("PRAGMA busy_timeout = 2000");
    const rows = db.prepare(
      `SELECT id, ts, host, kind, message, details FROM events
       WHERE ts >= ? AND kind IN (${kinds.map(() => "?").join(",")}) ORDER BY id`,
    ).all(since, ...kinds);
    return rows.map((r) => ({
      id: Number(r.id),
      ts: Number(r.ts),
      host: String(r.host),
      kind: String(r.kind),
      message: String(r.message),
      details: r.details ? JSON.parse(String(r.details)) : {},
    }));
  } finally {
    db.close();
  }
}

/** ts of the first `peer.down` naming `host`, at or after `since`. */
export function firstDown(stateDir: string, host: string, since: number): number | undefined {
  return readEvents(stateDir, ["peer.down"], since)
    .find((e) => e.message.startsWith(`host ${host} is down`))?.ts;
}

/** ts of the first `cluster.converged` at or after `since` whose members leave out `host`. */
export function firstConvergedWithout(
  stateDir: string,
  host: string,
  since: number,
): number | undefined {
  return readEvents(stateDir, ["cluster.converged"], since).find((e) => {
    const members = e.details.members;
    return Array.isArray(members) && !members.includes(host);
  })?.ts;
}
