/**
 * The SPA's one door to the server: every fetch and the live EventSource go through here.
 * It keeps the session's CSRF token and sends it on every change; a 401 anywhere tells
 * the listeners registered with onUnauthorized (the app shows the login page).
 */
import type { Event, EventQuery } from "../../db/event_log.ts";
import type { PortRule } from "../../agent/cluster/config.ts";
import type { ReplicationStatus } from "../../agent/replication/status.ts";
import type { PanelStatus } from "../api/status_api.ts";
import type { TrafficSample } from "../api/stream_api.ts";
import type { Timeline } from "../api/timeline_api.ts";
import type { HostCommand } from "../deps.ts";
import type { RuleFields } from "./format.ts";

export type {
  Event,
  EventQuery,
  HostCommand,
  PanelStatus,
  PortRule,
  ReplicationStatus,
  Timeline,
  TrafficSample,
};

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly problems: string[] = []) {
    super(message);
  }
}

export interface EventPage {
  host: string;
  events: Event[];
  /** Null for another host's events (the peer API does not count). */
  total: number | null;
  limit: number;
  offset: number;
}

export interface EventFilter extends EventQuery {
  host?: string;
}

let csrfToken = "";
const unauthorized = new Set<() => void>();

export function onUnauthorized(fn: () => void): () => void {
  unauthorized.add(fn);
  return () => unauthorized.delete(fn);
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-csrf-token"] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    throw new ApiError(0, "cannot reach the agent: is it running? (retry in a moment)");
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    if (res.status === 401 && path !== "/api/session") unauthorized.forEach((fn) => fn());
    throw new ApiError(res.status, data.error ?? `${res.status} ${res.statusText}`, data.problems);
  }
  return data as T;
}

/** Query string of a filter, leaving out empty values. */
export function eventParams(f: EventFilter & { format?: string }): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) {
    if (v !== undefined && v !== "" && v !== null) p.set(k, String(v));
  }
  return p.toString();
}

export const api = {
  async session(): Promise<boolean> {
    const s = await call<{ authenticated: boolean; csrfToken?: string }>("GET", "/api/session");
    csrfToken = s.csrfToken ?? "";
    return s.authenticated;
  },
  async login(password: string): Promise<void> {
    csrfToken = (await call<{ csrfToken: string }>("POST", "/api/session", { password }))
      .csrfToken;
  },
  async logout(): Promise<void> {
    await call("DELETE", "/api/session");
    csrfToken = "";
  },
  status: () => call<PanelStatus>("GET", "/api/status"),
  command: (host: string, command: HostCommand) =>
    call("POST", `/api/hosts/${encodeURIComponent(host)}/${command}`),
  rules: () => call<{ rules: PortRule[]; version: number }>("GET", "/api/rules"),
  addRule: (f: RuleFields) => call<{ version: number }>("POST", "/api/rules", f),
  updateRule: (id: string, f: Omit<RuleFields, "id">) =>
    call<{ version: number }>("PUT", `/api/rules/${encodeURIComponent(id)}`, f),
  removeRule: (id: string) =>
    call<{ version: number }>("DELETE", `/api/rules/${encodeURIComponent(id)}`),
  events: (f: EventFilter) => call<EventPage>("GET", `/api/events?${eventParams(f)}`),
  /** Convergences and failovers since `since` (default: the last hour). */
  timeline: (since?: number) =>
    call<Timeline>("GET", `/api/timeline${since === undefined ? "" : `?since=${since}`}`),
  replication: () => call<ReplicationStatus>("GET", "/api/replication"),
  /** Publish now; `confirm` releases a generation the mass-deletion guard holds. */
  publishNow: (confirm: boolean) =>
    call<{ message: string }>("POST", "/api/replication/now", { confirm }),
  rollback: (gen: number) =>
    call<{ gen: number; message: string }>("POST", "/api/replication/rollback", { gen }),
  setExporter: (host: string, source: string) =>
    call<{ message: string }>("POST", "/api/replication/exporter", { host, source }),
  exportUrl: (f: EventFilter, format: "csv" | "json") => {
    const { limit: _l, offset: _o, afterId: _a, ...rest } = f;
    return `/api/events?${eventParams({ ...rest, format })}`;
  },
};

export interface StreamHandlers {
  status(s: PanelStatus): void;
  event(e: Event): void;
  /** Each host's accepted-connection totals, about every second (with a dataplane). */
  traffic(t: TrafficSample): void;
  /** "live" when connected, "reconnecting" after a drop, "closed" when refused. */
  connection(state: "live" | "reconnecting" | "closed"): void;
}

/** Opens /api/stream; returns the function that closes it. */
export function openStream(h: StreamHandlers): () => void {
  const es = new EventSource("/api/stream");
  es.addEventListener("open", () => h.connection("live"));
  es.addEventListener("status", (m) => h.status(JSON.parse((m as MessageEvent).data)));
  es.addEventListener("event", (m) => h.event(JSON.parse((m as MessageEvent).data)));
  es.addEventListener("traffic", (m) => h.traffic(JSON.parse((m as MessageEvent).data)));
  es.addEventListener("error", () => {
    if (es.readyState !== EventSource.CLOSED) return h.connection("reconnecting");
    h.connection("closed");
    // Refused for good: usually an expired session. Ask, so the app can show the login.
    api.session().then((ok) => ok || unauthorized.forEach((fn) => fn())).catch(() => {});
  });
  return () => es.close();
}
