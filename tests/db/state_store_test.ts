import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { StateError } from "../../db/state_error.ts";
import { CONFIG_HISTORY, SqliteStateStore } from "../../db/state_store.ts";
import { openMigrated, withTempDir } from "./_temp_db.ts";

function withStore(fn: (store: SqliteStateStore) => void): void {
  const db = openMigrated(":memory:");
  try {
    fn(new SqliteStateStore(db));
  } finally {
    db.close();
  }
}

const token = { id: "t1", secretHash: "h1", expiresAt: 1000, createdAt: 0 };

Deno.test("latestConfig() returns the highest saved version, as saved", () => {
  withStore((store) => {
    assert.equal(store.latestConfig(), undefined);
    store.saveConfig({ hosts: [{ id: 7 }], name: "web" }, 2);
    store.saveConfig({ name: "older" }, 1);
    assert.deepEqual(store.latestConfig(), {
      version: 2,
      config: { hosts: [{ id: 7 }], name: "web" },
    });
    store.saveConfig({ name: "replaced" }, 2);
    assert.deepEqual(store.latestConfig(), { version: 2, config: { name: "replaced" } });
  });
});

Deno.test("saveConfig() keeps only the newest 50 versions", () => {
  withStore((store) => {
    for (let v = 1; v <= CONFIG_HISTORY + 10; v++) store.saveConfig({ v }, v);
    const versions = store.configVersions();
    assert.equal(CONFIG_HISTORY, 50);
    assert.equal(versions.length, 50);
    assert.equal(versions[0], 60);
    assert.equal(versions.at(-1), 11);
  });
});

Deno.test("saveConfig() rejects a version below 1 and a config that is not JSON", () => {
  withStore((store) => {
    assert.throws(() => store.saveConfig({}, 0), /config version must be a whole number >= 1/);
    assert.throws(() => store.saveConfig(undefined, 1), /config must be a JSON value/);
    assert.deepEqual(store.configVersions(), []);
  });
});

Deno.test("setIdentity() stores this host's identity, replacing the previous one", () => {
  withStore((store) => {
    assert.equal(store.getIdentity(), undefined);
    store.setIdentity({ hostId: 1, name: "a", interface: "eth1", address: "10.0.0.1" });
    const identity = { hostId: 0xffff_ffff, name: "b", interface: "eth2", address: "10.0.0.2" };
    store.setIdentity(identity);
    assert.deepEqual(store.getIdentity(), identity);
  });
});

Deno.test("setIdentity() rejects a host id outside 1..2^32-1", () => {
  withStore((store) => {
    const identity = { name: "a", interface: "eth1", address: "10.0.0.1" };
    assert.throws(() => store.setIdentity({ hostId: 0, ...identity }), /host id must be/);
    assert.throws(() => store.setIdentity({ hostId: 2 ** 32, ...identity }), /got 4294967296/);
    assert.equal(store.getIdentity(), undefined);
  });
});

Deno.test("setSecret() stores secrets by name and overwrites", () => {
  withStore((store) => {
    assert.equal(store.getSecret("ca_key"), undefined);
    store.setSecret("ca_key", "-----BEGIN PRIVATE KEY-----\nold\n");
    store.setSecret("ca_key", "-----BEGIN PRIVATE KEY-----\nnew\n");
    store.setSecret("cluster_key", "c2VjcmV0");
    assert.equal(store.getSecret("ca_key"), "-----BEGIN PRIVATE KEY-----\nnew\n");
    assert.equal(store.getSecret("cluster_key"), "c2VjcmV0");
    assert.equal(store.getSecret("host_key"), undefined);
  });
});

Deno.test("consumeToken() accepts a token once, then answers used", () => {
  withStore((store) => {
    store.addToken(token);
    assert.deepEqual(store.consumeToken("t1", 500), { ok: true });
    assert.deepEqual(store.consumeToken("t1", 501), { ok: false, reason: "used" });
    assert.deepEqual(store.getToken("t1"), { ...token, usedAt: 500 });
  });
});

Deno.test("consumeToken() refuses an unknown token and an expired one", () => {
  withStore((store) => {
    store.addToken(token);
    assert.deepEqual(store.consumeToken("nope", 0), { ok: false, reason: "unknown" });
    assert.deepEqual(store.consumeToken("t1", 1000), { ok: false, reason: "expired" });
    assert.deepEqual(store.getToken("t1"), token, "an expired token is not marked used");
  });
});

Deno.test("consumeToken() lets only one of two connections use a token", async () => {
  await withTempDir((dir) => {
    const [a, b] = [openMigrated(`${dir}/state.db`), openMigrated(`${dir}/state.db`)];
    try {
      const [storeA, storeB] = [new SqliteStateStore(a), new SqliteStateStore(b)];
      storeA.addToken(token);
      const results = [storeB.consumeToken("t1", 1), storeA.consumeToken("t1", 1)];
      assert.deepEqual(results, [{ ok: true }, { ok: false, reason: "used" }]);
    } finally {
      a.close();
      b.close();
    }
  });
});

Deno.test("setPasswordHash() and setSetting() store strings as given", () => {
  withStore((store) => {
    assert.equal(store.getPasswordHash(), undefined);
    store.setPasswordHash("$scrypt$N=16384$abc");
    assert.equal(store.getPasswordHash(), "$scrypt$N=16384$abc");
    store.setSetting("ui.theme", "dark");
    store.setSetting("ui.theme", "light");
    store.setSetting("retention.days", "0030");
    assert.equal(store.getSetting("ui.theme"), "light");
    assert.equal(store.getSetting("retention.days"), "0030");
    assert.equal(store.getSetting("missing"), undefined);
  });
});

Deno.test("nextIncarnation() starts at 1 and keeps counting across reopen", async () => {
  await withTempDir((dir) => {
    const path = `${dir}/state.db`;
    const first = openMigrated(path);
    const store = new SqliteStateStore(first);
    assert.deepEqual([store.nextIncarnation(), store.nextIncarnation()], [1, 2]);
    first.close();
    const again = openMigrated(path);
    try {
      assert.equal(new SqliteStateStore(again).nextIncarnation(), 3);
    } finally {
      again.close();
    }
  });
});

Deno.test("SqliteStateStore refuses a database that was not migrated", () => {
  const db = new DatabaseSync(":memory:");
  try {
    assert.throws(() => new SqliteStateStore(db), StateError);
  } finally {
    db.close();
  }
});
