/**
 * The admin panel: `createApp(deps)` returns the Hono app the agent serves. One sub-app per
 * resource under /api, the SPA's files for everything else; errors are turned into JSON
 * once, in onError. Tests call `app.request()`; nothing here opens a socket.
 *
 *   /api/session  login, logout, who am I          (open: GET and POST)
 *   /api/status   the cluster                      (everything else needs a session,
 *   /api/hosts    host commands                     and its CSRF token to change things)
 *   /api/rules    port rules
 *   /api/events   event log, CSV/JSON export
 *   /api/timeline convergences and failovers (chart)
 *   /api/replication  content replication: status, publish, rollback, exporter
 *   /api/stream   live status, events and traffic (SSE)
 *   /*            index.html and /assets/*
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { DEFAULT_TIMINGS, type PanelDeps, type StreamTimings } from "./deps.ts";
import { LoginLimiter, SessionStore } from "./sessions.ts";
import { HttpError, type PanelEnv } from "./api/_http.ts";
import { guard, sessionApi } from "./api/session_api.ts";
import { statusApi } from "./api/status_api.ts";
import { hostsApi } from "./api/hosts_api.ts";
import { rulesApi } from "./api/rules_api.ts";
import { eventsApi } from "./api/events_api.ts";
import { streamApi } from "./api/stream_api.ts";
import { timelineApi } from "./api/timeline_api.ts";
import { replicationApi } from "./api/replication_api.ts";
import { staticApp } from "./static_app.ts";

export type { PanelDeps } from "./deps.ts";

const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join("; ");

export function createApp(
  deps: PanelDeps,
  timings: Partial<StreamTimings> = {},
): Hono<PanelEnv> {
  const sessions = new SessionStore();
  const app = new Hono<PanelEnv>();

  app.use(async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CSP);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("X-Frame-Options", "DENY");
  });
  app.use("/api/*", bodyLimit({ maxSize: 64 * 1024, onError: tooLarge }));
  app.use("/api/*", guard(deps, sessions));

  app.route("/api/session", sessionApi(deps, sessions, new LoginLimiter()));
  app.route("/api/status", statusApi(deps));
  app.route("/api/hosts", hostsApi(deps));
  app.route("/api/rules", rulesApi(deps));
  app.route("/api/events", eventsApi(deps));
  app.route("/api/timeline", timelineApi(deps));
  app.route("/api/replication", replicationApi(deps));
  app.route("/api/stream", streamApi(deps, { ...DEFAULT_TIMINGS, ...timings }));
  app.all(
    "/api/*",
    (c) => c.json({ error: `no such API endpoint: ${c.req.method} ${c.req.path}` }, 404),
  );
  app.route("/", staticApp(deps.assets));

  app.notFound((c) => c.json({ error: `not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((err, c) => {
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json({ error: err.message, ...err.extra }, err.status);
    }
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status);
    console.error(`panel: ${c.req.method} ${c.req.path} failed:`, err);
    return c.json({ error: `internal error: ${(err as Error)?.message ?? err}` }, 500);
  });
  return app;
}

function tooLarge(): never {
  throw new HttpError(413, "the request body is larger than 64 KiB");
}
