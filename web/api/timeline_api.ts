/**
 * /api/timeline?since=ms: this host's convergences and failovers, oldest first, for the
 * timeline chart. `since` (ms since the epoch or an ISO time) defaults to an hour ago.
 *
 *   cluster.converged  → { kind, ts, durationMs, epoch, members, message }
 *   peer.down          → { kind, ts, peer, message }   (peer: the host that went down)
 */
import { Hono } from "hono";
import { type Event, MAX_LIMIT } from "../../db/event_log.ts";
import type { PanelDeps } from "../deps.ts";
import { HttpError, type PanelEnv } from "./_http.ts";

export const TIMELINE_KINDS = ["cluster.converged", "peer.down"] as const;
export const DEFAULT_WINDOW_MS = 3_600_000;

export interface TimelineEntry {
  id: number;
  ts: number;
  kind: (typeof TIMELINE_KINDS)[number];
  message: string;
  /** cluster.converged: how long the convergence took. */
  durationMs?: number;
  epoch?: number;
  members?: string[];
  /** peer.down: the host that went down. */
  peer?: string;
}

export interface Timeline {
  since: number;
  until: number;
  entries: TimelineEntry[];
}

/** One event as a timeline entry; the down host's name is read from the message. */
export function toEntry(e: Event): TimelineEntry {
  const entry: TimelineEntry = {
    id: e.id,
    ts: e.ts,
    kind: e.kind as TimelineEntry["kind"],
    message: e.message,
  };
  const d = e.details;
  if (typeof d.durationMs === "number") entry.durationMs = Math.round(d.durationMs);
  if (typeof d.epoch === "number") entry.epoch = d.epoch;
  if (Array.isArray(d.members)) entry.members = d.members.map(String);
  const peer = typeof d.peer === "string" ? d.peer : /^host (\S+) is down/.exec(e.message)?.[1];
  if (e.kind === "peer.down" && peer) entry.peer = peer;
  return entry;
}

export function timelineApi(deps: PanelDeps): Hono<PanelEnv> {
  return new Hono<PanelEnv>().get("/", (c) => {
    const until = deps.now();
    const since = parseSince(c.req.query("since"), until - DEFAULT_WINDOW_MS);
    const entries = TIMELINE_KINDS
      .flatMap((kind) => deps.events.query({ kind, since, limit: MAX_LIMIT }))
      .sort((a, b) => a.ts - b.ts || a.id - b.id)
      .map(toEntry);
    return c.json({ since, until, entries } satisfies Timeline);
  });
}

function parseSince(v: string | undefined, fallback: number): number {
  if (v === undefined || v === "") return fallback;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) {
    throw new HttpError(
      400,
      `since must be ms since the epoch or an ISO time (2026-01-31T12:00:00Z), got "${v}"`,
    );
  }
  return n;
}
