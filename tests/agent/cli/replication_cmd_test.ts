import assert from "node:assert/strict";
import { formatStatus, replicationCommand } from "../../../agent/cli/replication_cmd.ts";
import { CliError, UsageError } from "../../../agent/cli/cli.ts";
import type { ReplicationStatus } from "../../../agent/replication/status.ts";
import { capture, latestConfig, rejectsWith, withFakeAgent, withStateDir } from "./_temp_state.ts";

function repl(dir: string, ...args: string[]) {
  return capture(() => replicationCommand.run([...args, "--state-dir", dir]));
}

const STATUS: ReplicationStatus = {
  enabled: true,
  exporter: { hostId: 101, name: "h1", source: "/srv/www" },
  offered: 4,
  committed: 3,
  consistency: "relaxed",
  pending: null,
  history: [],
  hosts: [
    {
      hostId: 101,
      name: "h1",
      role: "exporter",
      generation: 3,
      staged: 4,
      state: "staged",
      lagMs: null,
      lagGens: 0,
      bytesToGo: 0,
      objectsToGo: 0,
      bytesDone: 0,
      lastError: null,
      publishedPath: "/var/lib/appliance/content/current",
    },
    {
      hostId: 102,
      name: "h2",
      role: "importer",
      generation: 2,
      staged: 2,
      state: "error",
      lagMs: 1500,
      lagGens: 1,
      bytesToGo: 3 << 20,
      objectsToGo: 12,
      bytesDone: 0,
      lastError: "No space left on device",
      publishedPath: "/var/lib/appliance/content/current",
    },
  ],
};

Deno.test("formatStatus() shows every host's generation, state, lag, what is left and the error", () => {
  const text = formatStatus(STATUS);
  const lines = text.split("\n");
  assert.match(lines[0], /exporter h1 \(\/srv\/www\), generation offered 4, committed 3/);
  assert.match(text, /^h1 +exporter +3 +4 +staged +- +-$/m);
  assert.match(
    text,
    /^h2 +importer +2 +2 +error +1 gen, 1\.5 s +3\.0 MB \/ 12 obj +No space left/m,
  );
  assert.match(text, /published path \(serve this\): \/var\/lib\/appliance\/content\/current/);
});

Deno.test("formatStatus() names the command that turns replication on, and a held generation", () => {
  assert.match(formatStatus({ ...STATUS, enabled: false }), /replication exporter HOST --source/);
  const held = formatStatus({
    ...STATUS,
    pending: { gen: 5, reason: "it deletes 9 of 10 files", removed: 9, total: 10 },
  });
  assert.match(held, /HELD: generation 5: it deletes 9 of 10 files \(.*--confirm\)/);
});

Deno.test("replication status --json adds published_path to every host", async () => {
  await withStateDir(async (dir) => {
    await withFakeAgent(dir, () => Response.json(STATUS), async () => {
      const { result, out } = await repl(dir, "status", "--json");
      assert.equal(result, 0);
      const s = JSON.parse(out) as { hosts: { published_path: string }[] };
      assert.deepEqual(s.hosts.map((h) => h.published_path), [
        "/var/lib/appliance/content/current",
        "/var/lib/appliance/content/current",
      ]);
    });
  });
});

Deno.test("replication rollback and exporter refuse bad input with the fix", async () => {
  await withStateDir(async (dir) => {
    await rejectsWith(
      repl(dir, "rollback", "x"),
      UsageError,
      /e\.g\. `appliance replication rollback 7`/,
    );
    await rejectsWith(repl(dir, "exporter", "h2"), UsageError, /--source DIR is required/);
    await rejectsWith(repl(dir, "exporter", "h2", "--source", "www"), UsageError, /absolute path/);
    await rejectsWith(
      repl(dir, "exporter", "h9", "--source", "/srv/www"),
      CliError,
      /no host named "h9"/,
    );
    await rejectsWith(repl(dir, "frobnicate"), UsageError, /unknown subcommand "frobnicate"/);
  });
});

Deno.test("replication exporter saves the next config version with the exporter and source", async () => {
  await withStateDir(async (dir) => {
    const { result } = await repl(dir, "exporter", "h2", "--source", "/srv/www");
    assert.equal(result, 0);
    const c = latestConfig(dir);
    assert.equal(c.version, 2);
    assert.equal(c.replication?.exporter, 102);
    assert.equal(c.replication?.source, "/srv/www");
    assert.equal(c.replication?.keep, 5);
  });
});
