/** CSV (RFC 4180) for the event export. Pure. */
import type { Event } from "../db/event_log.ts";

export const EVENT_COLUMNS = ["id", "time", "host", "level", "kind", "message", "details"];

/**
 * One field: quoted when it holds a comma, quote or line break. A field that a
 * spreadsheet would run as a formula (= + - @ tab CR first) gets a leading ' so that
 * opening an export cannot run a command an event message smuggled in.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function eventsCsv(events: Event[]): string {
  const rows = events.map((e) => [
    String(e.id),
    new Date(e.ts).toISOString(),
    e.host,
    e.level,
    e.kind,
    e.message,
    Object.keys(e.details ?? {}).length ? JSON.stringify(e.details) : "",
  ]);
  return [EVENT_COLUMNS, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}
