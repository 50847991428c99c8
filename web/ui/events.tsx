/**
 * The event log: `EventFilters` and `EventsTable` render from props; `EventsPage` queries
 * through api.ts, pages, exports, and tails live events (this host's from the stream,
 * another host's by polling).
 */
import { useEffect, useState } from "preact/hooks";
import type { Event } from "../../db/event_log.ts";
import { api, type EventFilter, type EventPage } from "./api.ts";
import { formatTime, matchesFilter } from "./format.ts";

const LEVELS = ["debug", "info", "warn", "error"];
const PAGE_SIZES = [50, 100, 500];
const TAIL_KEEP = 500;
const REMOTE_POLL_MS = 2000;

export function EventsTable({ events }: { events: Event[] }) {
  if (events.length === 0) return <p>No events match.</p>;
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Events">
      <table class="events">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Host</th>
            <th scope="col">Level</th>
            <th scope="col">Kind</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.id} class={`level-${e.level}`}>
              <td class="nowrap">
                <time dateTime={new Date(e.ts).toISOString()}>{formatTime(e.ts)}</time>
              </td>
              <td>{e.host}</td>
              <td>
                <span class={`level level-${e.level}`}>{e.level}</span>
              </td>
              <td class="nowrap">{e.kind}</td>
              <td>{e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** datetime-local text ⇄ ms since the epoch (local time). */
const toMs = (v: string) => (v ? new Date(v).getTime() : undefined);
const toLocal = (ms?: number) => {
  if (ms === undefined) return "";
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};

/**
 * The filter form. What the user has typed lives in a draft until Apply, so a re-render
 * caused by a live status update (a new `hosts` array) never resets the controls.
 */
export function EventFilters(
  { filter, hosts, onApply }: {
    filter: EventFilter;
    hosts: string[];
    onApply: (f: EventFilter) => void;
  },
) {
  const [draft, setDraft] = useState<EventFilter>(filter);
  useEffect(() => setDraft(filter), [JSON.stringify(filter)]);
  const edit = (k: keyof EventFilter, v: string | number | undefined) =>
    setDraft((d) => ({ ...d, [k]: v === "" ? undefined : v }));
  const text = (k: "host" | "kind" | "level" | "search") => ({
    name: k,
    value: draft[k] ?? "",
    onInput: (e: { currentTarget: { value: string } }) => edit(k, e.currentTarget.value),
  });
  const time = (k: "since" | "until") => ({
    name: k,
    type: "datetime-local" as const,
    value: toLocal(draft[k]),
    onInput: (e: { currentTarget: { value: string } }) => edit(k, toMs(e.currentTarget.value)),
  });
  return (
    <form
      class="filters"
      aria-label="Event filters"
      onSubmit={(e) => {
        e.preventDefault();
        onApply({ ...draft, limit: draft.limit || 100, offset: 0 });
      }}
    >
      <label>
        Host
        <select {...text("host")}>
          {hosts.map((h, i) => <option key={h} value={i === 0 ? "" : h}>{h}</option>)}
        </select>
      </label>
      <label>
        Kind
        <input {...text("kind")} placeholder="peer.* or view.changed" />
      </label>
      <label>
        Level (at least)
        <select {...text("level")}>
          <option value="">any</option>
          {LEVELS.map((l) => <option key={l} value={l}>{l}</option>)}
        </select>
      </label>
      <label>
        Message contains
        <input {...text("search")} type="search" />
      </label>
      <label>
        From
        <input {...time("since")} />
      </label>
      <label>
        Until
        <input {...time("until")} />
      </label>
      <label>
        Per page
        <select
          name="limit"
          value={String(draft.limit ?? 100)}
          onChange={(e) => edit("limit", Number(e.currentTarget.value))}
        >
          {PAGE_SIZES.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
      </label>
      <div class="buttons">
        <button type="submit">Apply</button>
        <button type="reset" onClick={() => onApply({ limit: filter.limit, offset: 0 })}>
          Clear
        </button>
      </div>
    </form>
  );
}

export function EventsPage(
  { hosts, subscribe }: {
    /** Host names, this host first. */
    hosts: string[];
    /** Live events of this host. */
    subscribe: (fn: (e: Event) => void) => () => void;
  },
) {
  const [filter, setFilter] = useState<EventFilter>({ limit: 100, offset: 0 });
  const [page, setPage] = useState<EventPage | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [tail, setTail] = useState(false);
  const remote = filter.host !== undefined && filter.host !== hosts[0];

  useEffect(() => {
    let live = true;
    api.events(filter).then(
      (p) => live && (setPage(p), setError(undefined)),
      (e) => live && setError(e.message),
    );
    return () => (live = false);
  }, [JSON.stringify(filter)]);

  useEffect(() => {
    if (!tail || !page || (filter.offset ?? 0) > 0) return;
    const add = (es: Event[]) =>
      es.length && setPage((p) =>
        p && {
          ...p,
          events: [...es.filter((e) => matchesFilter(e, filter)).reverse(), ...p.events]
            .filter((e, i, all) => all.findIndex((x) => x.id === e.id) === i)
            .slice(0, TAIL_KEEP),
          total: p.total === null ? null : p.total + es.length,
        }
      );
    if (!remote) return subscribe((e) => add([e]));
    let last = page.events[0]?.id ?? 0;
    const timer = setInterval(() => {
      api.events({ ...filter, afterId: last, offset: 0, limit: 500 }).then((p) => {
        if (p.events.length) last = p.events[0].id;
        add([...p.events].reverse());
      }, (e) => setError(e.message));
    }, REMOTE_POLL_MS);
    return () => clearInterval(timer);
  }, [tail, page === undefined, JSON.stringify(filter)]);

  const offset = filter.offset ?? 0, limit = filter.limit ?? 100;
  const shown = page?.events.length ?? 0;
  const more = page ? (page.total === null ? shown >= limit : offset + shown < page.total) : false;
  return (
    <section aria-labelledby="events-title">
      <h1 id="events-title">Events</h1>
      <EventFilters filter={filter} hosts={hosts} onApply={setFilter} />
      <div class="toolbar">
        <label class="check">
          <input
            type="checkbox"
            checked={tail}
            onChange={(e) => setTail(e.currentTarget.checked)}
          />
          Live tail {remote ? "(polled every 2 s)" : ""}
        </label>
        <span>
          Export: <a href={api.exportUrl(filter, "csv")} download>CSV</a>{" "}
          <a href={api.exportUrl(filter, "json")} download>JSON</a>
        </span>
      </div>
      {error && <p class="notice error" role="alert">{error}</p>}
      {page === undefined && !error && <p>Loading…</p>}
      {page && <EventsTable events={page.events} />}
      {page && (
        <nav class="pager" aria-label="Event pages">
          <button
            type="button"
            disabled={offset === 0}
            onClick={() => setFilter({ ...filter, offset: Math.max(0, offset - limit) })}
          >
            Newer
          </button>
          <span aria-live="polite">
            {shown ? `${offset + 1}–${offset + shown}` : "0"}
            {page.total !== null && ` of ${page.total}`}
          </span>
          <button
            type="button"
            disabled={!more}
            onClick={() => setFilter({ ...filter, offset: offset + limit })}
          >
            Older
          </button>
        </nav>
      )}
    </section>
  );
}
