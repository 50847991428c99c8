import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { openDatabase } from "../../db/database.ts";
import { StateError } from "../../db/state_error.ts";
import { withTempDir } from "./_temp_db.ts";

Deno.test("openDatabase() refuses a missing file when create is false, creating nothing", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/state.db`;
    assert.throws(() => openDatabase(path, { create: false }), {
      name: "StateError",
      message: `no state database at ${path}: run \`appliance init\` or \`appliance join\` ` +
        "first, or pass --state-dir",
    });
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  });
});

Deno.test("openDatabase() creates a private database in WAL mode with its settings", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/state.db`;
    const db = openDatabase(path, { create: true });
    try {
      const pragma = (name: string) => Object.values(db.prepare(`PRAGMA ${name}`).get()!)[0];
      assert.equal(pragma("journal_mode"), "wal");
      assert.equal(pragma("synchronous"), 1, "NORMAL");
      assert.equal(pragma("busy_timeout"), 5000);
      assert.equal(pragma("foreign_keys"), 1);
      assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    } finally {
      db.close();
    }
  });
});

Deno.test("openDatabase() reopens an existing database with its data", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/state.db`;
    const first = openDatabase(path, { create: true });
    first.exec("CREATE TABLE t (v TEXT); INSERT INTO t VALUES ('kept')");
    first.close();
    const again = openDatabase(path, { create: false });
    try {
      assert.equal(again.prepare("SELECT v FROM t").get()?.v, "kept");
    } finally {
      again.close();
    }
  });
});

Deno.test("openDatabase() refuses a file that is not a database and leaves it untouched", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/state.db`;
    const garbage = crypto.getRandomValues(new Uint8Array(8192));
    Deno.writeFileSync(path, garbage);
    for (const create of [false, true]) {
      assert.throws(() => openDatabase(path, { create }), (err: Error) => {
        assert.ok(err instanceof StateError);
        assert.match(err.message, new RegExp(`state database at ${path} is corrupt`));
        assert.match(err.message, /file is not a database/);
        assert.match(err.message, /Move it aside .* re-join with `appliance join`.* backup/);
        return true;
      });
    }
    assert.deepEqual(Deno.readFileSync(path), garbage);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["state.db"]);
  });
});

Deno.test("openDatabase() refuses a damaged database and leaves it untouched", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/state.db`;
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t (v)");
    const insert = db.prepare("INSERT INTO t (v) VALUES (?)");
    db.exec("BEGIN");
    for (let i = 0; i < 2000; i++) insert.run(`value ${i}`);
    db.exec("COMMIT");
    db.close();
    const bytes = Deno.readFileSync(path);
    bytes.fill(0xab, 4096 * 3, 4096 * 3 + 300); // scribble over a b-tree page
    Deno.writeFileSync(path, bytes);

    assert.throws(() => openDatabase(path, { create: false }), {
      name: "StateError",
      message: new RegExp(
        `^the state database at ${path} is corrupt \\(.+\\); it was left unchanged`,
      ),
    });
    assert.deepEqual(Deno.readFileSync(path), bytes);
  });
});

Deno.test("openDatabase() says which state directory is missing", async () => {
  await withTempDir((dir) => {
    assert.throws(() => openDatabase(`${dir}/nope/state.db`, { create: true }), {
      name: "StateError",
      message: new RegExp(
        `directory ${dir}/nope does not exist \\(create it, or pass --state-dir\\)`,
      ),
    });
  });
});

Deno.test("openDatabase() refuses a path that is a directory", async () => {
  await withTempDir((dir) => {
    assert.throws(() => openDatabase(dir, { create: true }), {
      name: "StateError",
      message: new RegExp(`path ${dir} is not a regular file`),
    });
  });
});
