/**
 * The local state store: what this host keeps across restarts, apart from events.
 *
 * One table per kind of thing (created by migration 2, see migrations.ts):
 *   config_history  one row per cluster config version, the config as JSON text; only
 *                   the newest CONFIG_HISTORY versions are kept
 *   identity        one row: this host's id, name, cluster interface and address
 *   secrets         one row per secret, by name; a table of its own so a state dump can
 *                   leave it out whole
 *   join_tokens     one row per token; used_at is set once, by consumeToken()
 *   local_state     one row per small value: "admin_password_hash", "incarnation"
 *   settings        one row per generic setting, string values
 */
import type { DatabaseSync } from "node:sqlite";
import { StateError } from "./state_error.ts";
import { StatementCache } from "./_statements.ts";
import { withTransaction } from "./_transaction.ts";

/** How many cluster config versions saveConfig() keeps. */
export const CONFIG_HISTORY = 50;

export interface Identity {
  /** Random non-zero u32, unique in the cluster. */
  hostId: number;
  name: string;
  /** The cluster network interface, e.g. "eth1". */
  interface: string;
  /** This host's IPv4 address on that interface. */
  address: string;
}

/**
 * cluster_key: the cluster HMAC key, base64. ca_cert, ca_key: the cluster CA, PEM (every
 * host may sign). host_cert, host_key: this host's TLS certificate and key, PEM.
 */
export type SecretName = "cluster_key" | "ca_cert" | "ca_key" | "host_cert" | "host_key";

export interface JoinToken {
  id: string;
  /** Hash of the token's secret part; the secret itself is never stored. */
  secretHash: string;
  /** The token is valid while now < expiresAt (ms since the epoch). */
  expiresAt: number;
  createdAt: number;
}

export type ConsumeResult =
  | { ok: true }
  | { ok: false; reason: "unknown" | "expired" | "used" };

export interface StateStore {
  /** Records `config` as `version` (saving a version again replaces it). */
  saveConfig(config: unknown, version: number): void;
  latestConfig(): { version: number; config: unknown } | undefined;
  /** Kept versions, newest first. */
  configVersions(): number[];
  getIdentity(): Identity | undefined;
  setIdentity(identity: Identity): void;
  getSecret(name: SecretName): string | undefined;
  setSecret(name: SecretName, value: string): void;
  addToken(token: JoinToken): void;
  /** The token to check a presented secret against before consuming it. */
  getToken(id: string): (JoinToken & { usedAt?: number }) | undefined;
  /** Marks the token used if it is known, unexpired and unused; exactly once, across processes. */
  consumeToken(id: string, now: number): ConsumeResult;
  getPasswordHash(): string | undefined;
  setPasswordHash(hash: string): void;
  /** Increments and returns this host's incarnation: 1, 2, 3... across restarts. */
  nextIncarnation(): number;
  getSetting(key: string): string | undefined;
  setSetting(key: string, value: string): void;
}

/** The StateStore on the tables of a migrated state database. */
export class SqliteStateStore implements StateStore {
  readonly #db: DatabaseSync;
  readonly #sql: StatementCache;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#sql = new StatementCache(db);
    try {
      this.#sql.get("SELECT 1 FROM config_history, identity, join_tokens, local_state LIMIT 0");
    } catch (err) {
      throw new StateError("the state database has no state tables: call migrate(db) first", {
        cause: err,
      });
    }
  }

  saveConfig(config: unknown, version: number): void {
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new RangeError(`config version must be a whole number >= 1, got ${version}`);
    }
    const json = JSON.stringify(config);
    if (json === undefined) throw new RangeError("config must be a JSON value, got undefined");
    withTransaction(this.#db, () => {
      this.#sql.get(
        "INSERT INTO config_history (version, config) VALUES (?, ?) " +
          "ON CONFLICT (version) DO UPDATE SET config = excluded.config",
      ).run(version, json);
      this.#sql.get(
        "DELETE FROM config_history WHERE version <= " +
          "(SELECT version FROM config_history ORDER BY version DESC LIMIT 1 OFFSET ?)",
      ).run(CONFIG_HISTORY);
    });
  }

  latestConfig(): { version: number; config: unknown } | undefined {
    const row = this.#sql.get(
      "SELECT version, config FROM config_history ORDER BY version DESC LIMIT 1",
    ).get();
    return row && { version: Number(row.version), config: JSON.parse(String(row.config)) };
  }

  configVersions(): number[] {
    return this.#sql.get("SELECT version FROM config_history ORDER BY version DESC").all()
      .map((row) => Number(row.version));
  }

  getIdentity(): Identity | undefined {
    const row = this.#sql.get("SELECT host_id, name, interface, address FROM identity").get();
    return row && {
      hostId: Number(row.host_id),
      name: String(row.name),
      interface: String(row.interface),
      address: String(row.address),
    };
  }

  setIdentity(identity: Identity): void {
    const { hostId, name, address } = identity;
    if (!Number.isSafeInteger(hostId) || hostId < 1 || hostId > 0xffff_ffff) {
      throw new RangeError(`host id must be a whole number from 1 to 4294967295, got ${hostId}`);
    }
    this.#sql.get(
      "INSERT OR REPLACE INTO identity (only_row, host_id, name, interface, address) " +
        "VALUES (1, ?, ?, ?, ?)",
    ).run(hostId, name, identity.interface, address);
  }

  getSecret(name: SecretName): string | undefined {
    return this.#get("secrets", name);
  }

  setSecret(name: SecretName, value: string): void {
    this.#put("secrets", name, value);
  }

  addToken(token: JoinToken): void {
    this.#sql.get(
      "INSERT INTO join_tokens (id, secret_hash, expires_at, created_at) VALUES (?, ?, ?, ?)",
    ).run(token.id, token.secretHash, token.expiresAt, token.createdAt);
  }

  getToken(id: string): (JoinToken & { usedAt?: number }) | undefined {
    const row = this.#sql.get(
      "SELECT id, secret_hash, expires_at, created_at, used_at FROM join_tokens WHERE id = ?",
    ).get(id);
    if (!row) return undefined;
    const token: JoinToken & { usedAt?: number } = {
      id: String(row.id),
      secretHash: String(row.secret_hash),
      expiresAt: Number(row.expires_at),
      createdAt: Number(row.created_at),
    };
    if (row.used_at !== null) token.usedAt = Number(row.used_at);
    return token;
  }

  consumeToken(id: string, now: number): ConsumeResult {
    // One UPDATE: SQLite's write lock makes "check unused, mark used" a single step, so
    // two consumers, in this process or another, cannot both see it unused.
    const { changes } = this.#sql.get(
      "UPDATE join_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?",
    ).run(now, id, now);
    if (Number(changes) === 1) return { ok: true };
    const token = this.getToken(id);
    if (!token) return { ok: false, reason: "unknown" };
    return { ok: false, reason: token.usedAt === undefined ? "expired" : "used" };
  }

  getPasswordHash(): string | undefined {
    return this.#get("local_state", "admin_password_hash");
  }

  setPasswordHash(hash: string): void {
    this.#put("local_state", "admin_password_hash", hash);
  }

  nextIncarnation(): number {
    const row = this.#sql.get(
      "INSERT INTO local_state (key, value) VALUES ('incarnation', 1) " +
        "ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value",
    ).get();
    return Number(row?.value);
  }

  getSetting(key: string): string | undefined {
    return this.#get("settings", key);
  }

  setSetting(key: string, value: string): void {
    this.#put("settings", key, value);
  }

  #get(table: "secrets" | "local_state" | "settings", key: string): string | undefined {
    const column = table === "secrets" ? "name" : "key";
    const row = this.#sql.get(`SELECT value FROM ${table} WHERE ${column} = ?`).get(key);
    return row ? String(row.value) : undefined;
  }

  #put(table: "secrets" | "local_state" | "settings", key: string, value: string): void {
    const column = table === "secrets" ? "name" : "key";
    this.#sql.get(`INSERT OR REPLACE INTO ${table} (${column}, value) VALUES (?, ?)`)
      .run(key, value);
  }
}
