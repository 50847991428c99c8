/**
 * A host's state directory: the SQLite database (config, identity, secrets, tokens, events)
 * and the control socket of the running agent.
 */
import { openDatabase } from "../db/database.ts";
import { migrate } from "../db/migrations.ts";
import { SqliteEventLog } from "../db/event_log.ts";
import { type Identity, SqliteStateStore } from "../db/state_store.ts";
import { StateError } from "../db/state_error.ts";
import type { DatabaseSync } from "node:sqlite";
import type { ClusterConfig } from "./cluster/config.ts";

export const DEFAULT_STATE_DIR = "/var/lib/appliance";

export interface StateDir {
  dir: string;
  db: DatabaseSync;
  store: SqliteStateStore;
  events: SqliteEventLog;
  close(): void;
}

export function dbPath(dir: string): string {
  return `${dir}/appliance.db`;
}

export function socketPath(dir: string): string {
  return `${dir}/agent.sock`;
}

/** Opens an existing state dir (create: false) or makes a new one (create: true). */
export function openStateDir(dir: string, opts: { create: boolean }): StateDir {
  if (opts.create) Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = openDatabase(dbPath(dir), opts);
  migrate(db);
  return {
    dir,
    db,
    store: new SqliteStateStore(db),
    events: new SqliteEventLog(db),
    close: () => db.close(),
  };
}

/** What a host needs to run, all present: or a StateError saying what is missing. */
export interface Membership {
  identity: Identity;
  config: ClusterConfig;
  key: Uint8Array;
  caCert: string;
  caKey: string;
  hostCert: string;
  hostKey: string;
}

export function loadMembership(state: StateDir): Membership {
  const identity = state.store.getIdentity();
  const latest = state.store.latestConfig();
  const key = state.store.getSecret("cluster_key");
  const caCert = state.store.getSecret("ca_cert");
  const caKey = state.store.getSecret("ca_key");
  const hostCert = state.store.getSecret("host_cert");
  const hostKey = state.store.getSecret("host_key");
  if (!identity || !latest || !key || !caCert || !caKey || !hostCert || !hostKey) {
    throw new StateError(
      `the state in ${state.dir} is incomplete (no cluster membership): ` +
        "run `appliance init` or `appliance join` first, or pass the right --state-dir",
    );
  }
  return {
    identity,
    config: latest.config as ClusterConfig,
    key: Uint8Array.from(atob(key), (c) => c.charCodeAt(0)),
    caCert,
    caKey,
    hostCert,
    hostKey,
  };
}

export function b64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}
