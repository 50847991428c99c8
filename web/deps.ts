/**
 * What the admin panel needs from the running agent: one small port, so the panel is
 * tested with fakes (tests/web/_fake_deps.ts) and wired to the real driver in one place.
 */
import type { ClusterConfig, PortRule } from "../agent/cluster/config.ts";
import type { ClusterStatus } from "../agent/cluster/status.ts";
import type { Event, EventLog, EventQuery } from "../db/event_log.ts";
import type { ReplicationStatus } from "../agent/replication/status.ts";

export type HostCommand = "drainstop" | "stop" | "start" | "suspend" | "resume";
export const HOST_COMMANDS: readonly HostCommand[] = [
  "drainstop",
  "stop",
  "start",
  "suspend",
  "resume",
];

/** The SPA's compiled code and style, as web/assets.ts loads them. */
export interface Assets {
  js: string;
  css: string;
  /** Gzip of js / css, precompressed at build time; computed at startup when absent. */
  jsGz?: Uint8Array<ArrayBuffer>;
  cssGz?: Uint8Array<ArrayBuffer>;
  /** Content hashes for cache busting; computed at startup when absent. */
  jsHash?: string;
  cssHash?: string;
}

export interface PanelDeps {
  /** The cluster as this host sees it. */
  status(): ClusterStatus;
  /**
   * For each `multiple` rule id, the owner host id of every bucket (0 = none): the bucket
   * map picture. Optional: without it the panel draws shares as proportional bars.
   */
  bucketOwners?(): Record<string, ArrayLike<number>>;
  /** Runs a host command on `host` (a name), locally or through the peer API. Throws an
   * Error whose message is shown to the admin when it is refused. */
  command(host: string, command: HostCommand, by: string): Promise<void>;
  /** This host's event log. */
  events: EventLog;
  /** Another member's events (through the peer API), honouring the whole query. */
  remoteEvents?(host: string, query: EventQuery): Promise<Event[]>;
  /**
   * Per live host name, the new connections its rules accepted since its agent started
   * (the sum of its `rule_*` nftables counters). Hosts without counters (no dataplane) or
   * that do not answer are left out. Optional: without it the stream sends no traffic.
   */
  traffic?(): Promise<Record<string, number>>;
  /** Directory replication across the cluster; absent when the agent has none. Each
   * action throws an Error whose message is shown to the admin when it is refused. */
  replication?: {
    status(): Promise<ReplicationStatus>;
    /** Publish now (rescan the source); `confirm` releases a generation held by the
     * mass-deletion guard. Resolves with a message for the admin. */
    now(confirm: boolean, by: string): Promise<{ message: string }>;
    /** Re-publishes kept generation `gen` as a new generation (held until `now`). */
    rollback(gen: number, by: string): Promise<{ gen: number; message: string }>;
    /** Moves the exporter role to `host` (a host name) with source directory `source`
     * (absolute path on that host). */
    setExporter(host: string, source: string, by: string): Promise<{ message: string }>;
  };
  /** The port rules of the current config. */
  rules(): PortRule[];
  /**
   * Applies `edit` to the current config, saves and publishes the result. `edit` returns
   * the next config (version already bumped, or the same version when nothing changed) or
   * the problems that refuse the edit; then nothing is saved and it resolves with the
   * current version.
   */
  editConfig(
    edit: (c: ClusterConfig) => ClusterConfig | string[],
    by: string,
  ): Promise<{ version: number }>;
  /** Calls `fn` whenever the view or a host state changes; returns the unsubscribe. */
  onChange(fn: () => void): () => void;
  /** The admin password's scrypt hash (agent/security/password.ts); undefined if unset. */
  passwordHash(): string | undefined;
  /** Wall-clock ms: session expiry and rate limits. */
  now(): number;
  /** Writes an admin-action event: who did it, from which client address, and what. */
  logAction(who: string, from: string, message: string): void;
  /** Served over HTTPS: session cookies get the Secure flag. */
  secure: boolean;
  /** The SPA: `await loadAssets()` from web/assets.ts. */
  assets: Assets;
  /**
   * Aborted when the agent stops: every live stream ends, so the server's graceful
   * shutdown (which waits for open responses) does not wait for them forever.
   */
  shutdown?: AbortSignal;
}

/** Timings of the live stream, overridable by tests. */
export interface StreamTimings {
  /** Least gap between two `status` messages (≤ 20/s). Default 50. */
  minStatusGapMs: number;
  /** A status is also sent this often, so heartbeat ages stay fresh. Default 2000. */
  refreshMs: number;
  /** A comment line keeps proxies and the browser from closing the stream. Default 15000. */
  heartbeatMs: number;
  /** How often the event log is polled for new rows. Default 250. */
  pollMs: number;
  /** How often the traffic totals are sent (when deps.traffic exists). Default 1000. */
  trafficMs: number;
}

export const DEFAULT_TIMINGS: StreamTimings = {
  minStatusGapMs: 50,
  refreshMs: 2000,
  heartbeatMs: 15_000,
  pollMs: 250,
  trafficMs: 1000,
};
