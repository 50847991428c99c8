/**
 * PanelDeps over an in-memory cluster of three hosts, recording what the panel asks for,
 * and request helpers that log in the way the SPA does.
 */
import type { Hono } from "hono";
import { createApp } from "../../web/app.ts";
import type { HostCommand, PanelDeps, StreamTimings } from "../../web/deps.ts";
import { type ClusterConfig, defaultConfig } from "../../agent/cluster/config.ts";
import type { ClusterStatus, HostStatusState } from "../../agent/cluster/status.ts";
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
    })),
    drops: {} as ClusterStatus["drops"],
  });
  f.deps = {
    status,
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
