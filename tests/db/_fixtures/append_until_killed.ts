/**
 * Child process for kill_durability_test.ts: appends events to the state database given
 * as the first argument, one committed transaction each, and prints each id on its own
 * line once the commit has returned. Runs until killed.
 */
import { openDatabase } from "../../../db/database.ts";
import { SqliteEventLog } from "../../../db/event_log.ts";

const log = new SqliteEventLog(openDatabase(Deno.args[0], { create: false }));
const encoder = new TextEncoder();
for (let n = 0;; n++) {
  const id = log.append({
    ts: Date.now(),
    host: "child",
    level: "info",
    kind: "test.kill",
    message: `event ${n}`,
    details: { n, padding: "x".repeat(200) },
  });
  Deno.stdout.writeSync(encoder.encode(`${id}\n`));
}
