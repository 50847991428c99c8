/** Pure helpers of the SPA: formatting, colours, client-side checks. No DOM, no fetching. */
import type { Event, EventQuery } from "../../db/event_log.ts";
import type { HostStatus } from "../../agent/cluster/status.ts";

/** "—" for none; "40 ms", "3.2 s", "5 min". */
export function formatAge(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** "1 file", "3 files": a count and a noun that takes an s. */
export function plural(n: number, one: string): string {
  return `${n} ${one}${n === 1 ? "" : "s"}`;
}

export function formatShare(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

/** Local date and time to the second, e.g. "2026-01-31 12:00:05". */
export function formatTime(ts: number): string {
  const d = new Date(ts);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Okabe-Ito: told apart with every common colour-vision deficiency. */
const PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442"];

/** A distinct colour per host, by its place among the hosts sorted by id. */
export function hostColors(hosts: Pick<HostStatus, "id">[]): Map<number, string> {
  const ids = hosts.map((h) => h.id).sort((a, b) => a - b);
  return new Map(ids.map((id, i) => [
    id,
    PALETTE[i] ?? `hsl(${Math.round((i * 137.508) % 360)} 62% 50%)`,
  ]));
}

export const UNOWNED_COLOR = "#8884";

/** One run of equal owners in one row of the bucket grid. */
export interface Run {
  x: number;
  y: number;
  width: number;
  owner: number;
}

/** The grid of `owners` in rows of `cols`, with consecutive equal owners merged. */
export function bucketRuns(owners: number[], cols: number): Run[] {
  const runs: Run[] = [];
  owners.forEach((owner, i) => {
    const x = i % cols, y = Math.floor(i / cols);
    const last = runs.at(-1);
    if (last && last.y === y && last.owner === owner && last.x + last.width === x) last.width++;
    else runs.push({ x, y, width: 1, owner });
  });
  return runs;
}

export function countOwners(owners: number[]): Map<number, number> {
  const n = new Map<number, number>();
  for (const o of owners) n.set(o, (n.get(o) ?? 0) + 1);
  return n;
}

export interface RuleFields {
  id: string;
  ports: string;
  protocol: string;
  mode: string;
  affinity: string;
  load: string;
}

/** What the form can tell before asking the server (which also checks overlaps). */
export function checkRuleFields(f: RuleFields, isNew: boolean): string[] {
  const problems: string[] = [];
  if (isNew && !/^[a-z0-9][a-z0-9_-]{0,31}$/.test(f.id)) {
    problems.push("id must be 1-32 of a-z 0-9 _ - (starting with a letter or digit)");
  }
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(f.ports.trim());
  const lo = m ? Number(m[1]) : NaN, hi = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || lo > 65535 || hi > 65535 || lo > hi) {
    problems.push(
      "ports must be PORT or LO-HI within 0-65535 with LO <= HI (e.g. 443 or 8000-8080)",
    );
  }
  return problems;
}

/** Whether a live event passes the filters the events page shows. */
export function matchesFilter(e: Event, q: EventQuery): boolean {
  const rank = (l: string) => ["debug", "info", "warn", "error"].indexOf(l);
  if (q.level && rank(e.level) < rank(q.level)) return false;
  if (q.kind) {
    const ok = q.kind.endsWith("*") ? e.kind.startsWith(q.kind.slice(0, -1)) : e.kind === q.kind;
    if (!ok) return false;
  }
  if (q.search && !e.message.toLowerCase().includes(q.search.toLowerCase())) return false;
  if (q.since !== undefined && e.ts < q.since) return false;
  if (q.until !== undefined && e.ts >= q.until) return false;
  return true;
}

/**
 * Why `dir` cannot be a replication source directory (the API answers 400 with it, the
 * form shows it before asking), or undefined when it can: the config's own rule.
 */
export { sourceDirProblem as checkSourceDir } from "../../agent/cluster/replication_settings.ts";
