import assert from "node:assert/strict";
import { SqliteEventLog } from "../../db/event_log.ts";
import { openDatabase } from "../../db/database.ts";
import { openMigrated, withTempDir } from "./_temp_db.ts";

const FIXTURE = new URL("./_fixtures/append_until_killed.ts", import.meta.url).pathname;

/** Reads complete lines from `stream` until `enough` of them arrived; fails if it ends first. */
async function readIds(stream: ReadableStream<Uint8Array>, enough: number): Promise<number[]> {
  const ids: number[] = [];
  let pending = "";
  const decoder = new TextDecoder();
  const reader = stream.getReader();
  try {
    while (ids.length < enough) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the child exited after printing only ${ids.length} ids`);
      pending += decoder.decode(value, { stream: true });
      const lines = pending.split("\n");
      pending = lines.pop()!; // a partial line is not a confirmed commit yet
      ids.push(...lines.map(Number));
    }
  } finally {
    await reader.cancel();
  }
  return ids;
}

Deno.test("events committed before a kill -9 are all there after reopening", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/state.db`;
    openMigrated(path).close();

    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", FIXTURE, path],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    let printed: number[] = [];
    let status: Deno.CommandStatus;
    try {
      printed = await readIds(child.stdout, 50);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* it already exited: readIds() says why */ }
      status = await child.status;
    }
    assert.equal(status.signal, "SIGKILL", "the child was killed, not exited");

    const db = openDatabase(path, { create: false });
    try {
      // One writer and no deletes: ids are consecutive, so the printed ones are a range.
      const stored = new SqliteEventLog(db)
        .query({ afterId: printed[0] - 1, limit: printed.length, order: "asc" })
        .map((e) => e.id);
      assert.deepEqual(stored, printed);
      assert.equal(printed.length, new Set(printed).size);
    } finally {
      db.close();
    }
  });
});
