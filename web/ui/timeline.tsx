/**
 * Convergences and failovers of the last hour: `TimelineChart` (inline SVG: a bar per
 * convergence, as tall as it took; a red marker per host that went down) and
 * `TimelineTable` render from props; `TimelinePage` fetches /api/timeline and refreshes.
 */
import { useEffect, useState } from "preact/hooks";
import type { Timeline, TimelineEntry } from "../api/timeline_api.ts";
import { api } from "./api.ts";
import { formatAge, formatTime, plural } from "./format.ts";

const REFRESH_MS = 10_000;
const W = 600, H = 180, TOP = 22, BOTTOM = 18, LEFT = 44;

const hhmm = (ts: number) => formatTime(ts).slice(11, 16);

export function TimelineChart({ timeline }: { timeline: Timeline }) {
  const { since, until, entries } = timeline;
  const span = Math.max(1, until - since);
  const x = (ts: number) => LEFT + ((ts - since) / span) * (W - LEFT);
  const bars = entries.filter((e) => e.kind === "cluster.converged");
  const downs = entries.filter((e) => e.kind === "peer.down");
  const max = Math.max(1, ...bars.map((e) => e.durationMs ?? 0));
  const plot = H - TOP - BOTTOM, base = H - BOTTOM;
  const summary = `${plural(bars.length, "convergence")} (longest ${formatAge(max)}), ` +
    `${plural(downs.length, "host")} down, from ${formatTime(since)} to ${formatTime(until)}`;
  return (
    <figure class="timeline">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby="tl-title">
        <title id="tl-title">{summary}</title>
        <line class="axis" x1={LEFT} y1={base} x2={W} y2={base} />
        <line class="axis" x1={LEFT} y1={TOP} x2={LEFT} y2={base} />
        <text class="label" x={LEFT - 4} y={TOP + 4} text-anchor="end">{formatAge(max)}</text>
        <text class="label" x={LEFT - 4} y={base} text-anchor="end">0</text>
        <text class="label" x={LEFT} y={H - 4}>{hhmm(since)}</text>
        <text class="label" x={W} y={H - 4} text-anchor="end">{hhmm(until)}</text>
        {bars.map((e) => {
          const h = Math.max(1, ((e.durationMs ?? 0) / max) * plot);
          return (
            <rect key={e.id} class="bar" x={x(e.ts) - 1.5} y={base - h} width={3} height={h}>
              <title>{`${formatTime(e.ts)}: ${e.message}`}</title>
            </rect>
          );
        })}
        {downs.map((e) => (
          <g key={e.id} class="down">
            <line x1={x(e.ts)} y1={TOP} x2={x(e.ts)} y2={base} />
            <circle cx={x(e.ts)} cy={TOP} r={4} />
            <text x={x(e.ts)} y={TOP - 8} text-anchor="middle">{e.peer ?? "?"}</text>
            <title>{`${formatTime(e.ts)}: ${e.message}`}</title>
          </g>
        ))}
      </svg>
      <figcaption class="hint">
        Bars: convergences, height = how long each took. Red: a host went down.
      </figcaption>
    </figure>
  );
}

export function TimelineTable({ entries }: { entries: TimelineEntry[] }) {
  if (entries.length === 0) return <p>No convergence or failover in this period.</p>;
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Timeline events">
      <table>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Kind</th>
            <th scope="col" class="num">Duration</th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {[...entries].reverse().map((e) => (
            <tr key={e.id} class={e.kind === "peer.down" ? "level-error" : undefined}>
              <td class="nowrap">
                <time dateTime={new Date(e.ts).toISOString()}>{formatTime(e.ts)}</time>
              </td>
              <td class="nowrap">{e.kind}</td>
              <td class="num">{e.durationMs === undefined ? "—" : formatAge(e.durationMs)}</td>
              <td>{e.message}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function TimelinePage() {
  const [timeline, setTimeline] = useState<Timeline | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    let live = true;
    const load = () =>
      api.timeline().then(
        (t) => live && (setTimeline(t), setError(undefined)),
        (e) => live && setError(e.message),
      );
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, []);
  return (
    <section aria-labelledby="timeline-title">
      <h1 id="timeline-title">Timeline (last hour, this host's log)</h1>
      {error && <p class="notice error" role="alert">{error}</p>}
      {!timeline && !error && <p>Loading…</p>}
      {timeline && <TimelineChart timeline={timeline} />}
      {timeline && <TimelineTable entries={timeline.entries} />}
    </section>
  );
}
