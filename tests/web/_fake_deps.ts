/**
 * PanelDeps over an in-memory cluster of three hosts, recording what the panel asks for,
 * and request helpers that log in the way the SPA does.
 */
import type { Hono } from "hono";
import { createApp } from "../../web/app.ts";
import type { HostCommand, PanelDeps, StreamTimings } from "../../web/deps.ts";
import { type ClusterConfig, defaultConfig } from "../../agent/cluster/config.ts";
import type { ClusterStatus, HostStatusState } from "../../agent/cluster/status.ts";
import type { ReplicationStatus } from "../../agent/replication/status.ts";
import { hashPassword } from "../../agent/security/password.ts";
import { MemoryEventLog } from "../_fakes/memory_event_log.ts";
import type { PanelEnv } from "../../web/api/_http.ts";

export const PASSWORD = "correct horse battery";
const HASH = await hashPassword(PASSWORD);

export function testConfig(): ClusterConfig {
  return {
    ...defaultConfig({ clusterId: "0123456789abcdef", clusterIp: "198.18.0.10" }),
    hosts: [
      { id: 101, name: "web1", address: "198.18.0.1", priority: 1, weight: 50 },
      { id: 102, name: "web2", address: "198.18.0.2", priority: 2, weight: 50 },
      { id: 103, name: "web3", address: "198.18.0.3", priority: 3, weight: 50 },
    ],
  };
}

export interface Fake {
  deps: PanelDeps;
  app: Hono<PanelEnv>;
  events: MemoryEventLog;
  clock: { now: number };
  config: () => ClusterConfig;
  states: Record<string, HostStatusState>;
  /** The content generation each host serves, as its heartbeats report. */
  generations: Record<string, number>;
  /** What deps.replication reports, the calls it got, and a message to refuse them with. */
  replication: {
    status: ReplicationStatus;
    calls: unknown[][];
    refuse?: string;
  };
  commands: { host: string; command: HostCommand; by: string }[];
  actions: { who: string; from: string; message: string }[];
  /** Fires deps.onChange's listeners, as the driver does on a change. */
  fire(): void;
  listeners: Set<() => void>;
  /** Makes deps.command throw this message. */
  refuse?: string;
}

export function fake(over: Partial<PanelDeps> = {}, timings: Partial<StreamTimings> = {}): Fake {
  let config = testConfig();
  const listeners = new Set<() => void>();
  const f: Fake = {
    events: new MemoryEventLog(),
    clock: { now: Date.UTC(2026, 0, 31, 12) },
    config: () => config,
    states: { web1: "converged", web2: "converged", web3: "converged" },
    generations: { web1: 5, web2: 5, web3: 4 },
    replication: { status: replicationStatus(), calls: [] },
    commands: [],
    actions: [],
    fire: () => listeners.forEach((fn) => fn()),
    listeners,
  } as unknown as Fake;
  const status = (): ClusterStatus => ({
    clusterId: config.clusterId,
    clusterIp: config.clusterIp,
    mode: config.mode,
    configVersion: config.version,
    epoch: 7,
    converged: true,
    viewDigest: "00".repeat(8),
    lastConvergence: { at: f.clock.now - 5000, durationMs: 120, epoch: 7 },
    hosts: config.hosts.map((h) => ({
      ...h,
      state: f.states[h.name],
      self: h.name === "web1",
      heartbeatAgeMs: h.name === "web1" ? null : 40,
      share: 1 / 3,
      health: "healthy" as const,
      generation: f.generations[h.name] ?? 0,
    })),
    drops: {} as ClusterStatus["drops"],
  });
  const repl = <T>(call: unknown[], answer: T): Promise<T> => {
    f.replication.calls.push(call);
    const why = f.replication.refuse;
    return why ? Promise.reject(new Error(why)) : Promise.resolve(answer);
  };
  f.deps = {
    status,
    replication: {
      status: () => Promise.resolve(f.replication.status),
      now: (confirm, by) =>
        repl(["now", confirm, by], { message: "generation 6 offered: 3 files changed" }),
      rollback: (gen, by) =>
        repl(["rollback", gen, by], { gen: 6, message: `generation 6 re-publishes ${gen}` }),
      setExporter: (host, source, by) =>
        repl(["setExporter", host, source, by], { message: `${host} exports ${source}` }),
    },
    command: (host, command, by) => {
      f.commands.push({ host, command, by });
      return f.refuse ? Promise.reject(new Error(f.refuse)) : Promise.resolve();
    },
    events: f.events,
    rules: () => config.rules,
    editConfig: (edit) => {
      const next = edit(config);
      if (!Array.isArray(next)) config = next;
      return Promise.resolve({ version: config.version });
    },
    onChange: (fn) => {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    passwordHash: () => HASH,
    now: () => f.clock.now,
    logAction: (who, from, message) => f.actions.push({ who, from, message }),
    secure: false,
    assets: { js: "console.log('panel');".repeat(50), css: "body{margin:0}" },
    ...over,
  };
  f.app = createApp(f.deps, timings);
  return f;
}

/** Replication of /srv/www from web1: web2 is fetching generation 5, web3 failed it. */
export function replicationStatus(over: Partial<ReplicationStatus> = {}): ReplicationStatus {
  const T = Date.UTC(2026, 0, 31, 12);
  const host = {
    role: "importer" as const,
    generation: 5,
    staged: 5,
    state: "idle" as const,
    lagMs: null,
    lagGens: 0,
    bytesToGo: 0,
    objectsToGo: 0,
    bytesDone: 0,
    lastError: null,
    publishedPath: "/var/lib/appliance/content/current",
  };
  const summary = {
    files: 120,
    bytes: 3 * 1024 * 1024,
    added: 0,
    modified: 0,
    removed: 0,
    renamed: 0,
  };
  return {
    enabled: true,
    exporter: { hostId: 101, name: "web1", source: "/srv/www" },
    offered: 5,
    committed: 5,
    consistency: "relaxed",
    pending: null,
    hosts: [
      { ...host, hostId: 101, name: "web1", role: "exporter" },
      {
        ...host,
        hostId: 102,
        name: "web2",
        generation: 4,
        staged: 4,
        state: "fetching",
        lagMs: 4000,
        lagGens: 1,
        bytesDone: 1024 * 1024,
        bytesToGo: 3 * 1024 * 1024,
        objectsToGo: 12,
      },
      {
        ...host,
        hostId: 103,
        name: "web3",
        generation: 4,
        staged: 4,
        state: "error",
        lagMs: 90_000,
        lagGens: 1,
        lastError: "cannot stage generation 5: no space left on device",
      },
    ],
    history: [
      { ...summary, gen: 5, createdMs: T - 60_000, modified: 3, removed: 1, rollbackOf: 3 },
      { ...summary, gen: 4, createdMs: T - 3_600_000, added: 7 },
      { ...summary, gen: 3, createdMs: T - 7_200_000, files: 113 },
    ],
    ...over,
  };
}

export interface Client {
  cookie: string;
  csrf: string;
  ip: string;
}

/** A request from `ip` (the address Deno.serve would pass as the env). */
export function request(
  app: Hono<PanelEnv>,
  path: string,
  init: RequestInit & { json?: unknown } = {},
  ip = "192.0.2.7",
): Promise<Response> {
  const { json, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (json !== undefined) headers.set("content-type", "application/json");
  return Promise.resolve(app.request(
    path,
    { ...rest, headers, body: json === undefined ? rest.body : JSON.stringify(json) },
    { remoteAddr: { hostname: ip } },
  ));
}

export async function login(app: Hono<PanelEnv>, ip = "192.0.2.7"): Promise<Client> {
  const res = await request(
    app,
    "/api/session",
    { method: "POST", json: { password: PASSWORD } },
    ip,
  );
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  const cookie = res.headers.get("set-cookie")!.split(";")[0];
  return { cookie, csrf: (await res.json()).csrfToken, ip };
}

/** A request as a logged-in SPA sends it: session cookie, and the CSRF token on changes. */
export function call(
  app: Hono<PanelEnv>,
  client: Client,
  method: string,
  path: string,
  json?: unknown,
): Promise<Response> {
  const headers: Record<string, string> = { cookie: client.cookie };
  if (method !== "GET") headers["x-csrf-token"] = client.csrf;
  return request(app, path, { method, headers, json }, client.ip);
}
