/**
 * Live traffic on the overview: each host's new connections per second over the last
 * minute, one small inline-SVG line chart per host. `addTrafficSample` turns the stream's
 * running totals into rates (pure); `TrafficCharts` renders from props.
 */
import type { HostStatus } from "../../agent/cluster/status.ts";
import type { TrafficSample } from "../api/stream_api.ts";
import { hostColors } from "./format.ts";

export const TRAFFIC_WINDOW_MS = 60_000;

export interface RatePoint {
  at: number;
  /** New connections per second since the sample before. */
  rate: number;
}

export interface TrafficHistory {
  /** The latest sample: rates are computed against it. */
  at: number;
  totals: Record<string, number>;
  /** Per host name, its rates within the window, oldest first. */
  series: Record<string, RatePoint[]>;
}

/**
 * The history with `s` added: a rate per host that reported in both samples; none for a
 * host seen for the first time or whose total went down (its agent restarted).
 */
export function addTrafficSample(h: TrafficHistory | undefined, s: TrafficSample): TrafficHistory {
  const series: Record<string, RatePoint[]> = {};
  for (const [host, points] of Object.entries(h?.series ?? {})) {
    const kept = points.filter((p) => p.at > s.at - TRAFFIC_WINDOW_MS);
    if (kept.length) series[host] = kept;
  }
  if (h && s.at > h.at) {
    for (const [host, total] of Object.entries(s.totals)) {
      const prev = h.totals[host];
      if (prev === undefined || total < prev) continue;
      (series[host] ??= []).push({ at: s.at, rate: ((total - prev) * 1000) / (s.at - h.at) });
    }
  }
  return { at: s.at, totals: s.totals, series };
}

export function formatRate(rate: number): string {
  return `${rate < 10 ? rate.toFixed(1) : Math.round(rate)} conn/s`;
}

const W = 240, H = 60, PAD = 2;

function Sparkline(
  { name, points, now, color }: { name: string; points: RatePoint[]; now: number; color: string },
) {
  const peak = Math.max(1, ...points.map((p) => p.rate));
  const x = (at: number) => W - ((now - at) / TRAFFIC_WINDOW_MS) * W;
  const y = (rate: number) => H - PAD - (rate / peak) * (H - 2 * PAD);
  const last = points.at(-1);
  return (
    <figure class="traffic">
      <figcaption>
        <strong>{name}</strong> {last ? formatRate(last.rate) : "measuring…"}
        <span class="hint">peak {formatRate(peak)}</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${name}: new connections per second`}>
        <line class="axis" x1={0} y1={H - PAD} x2={W} y2={H - PAD} />
        {points.length > 0 && (
          <polyline
            fill="none"
            stroke={color}
            stroke-width={2}
            points={points.map((p) => `${x(p.at).toFixed(1)},${y(p.rate).toFixed(1)}`).join(" ")}
          />
        )}
      </svg>
    </figure>
  );
}

export function TrafficCharts(
  { history, hosts }: { history: TrafficHistory; hosts: HostStatus[] },
) {
  const names = Object.keys(history.totals);
  if (names.length === 0) return <p class="hint">no traffic counters (dataplane off)</p>;
  const colors = hostColors(hosts);
  const byName = new Map(hosts.map((h) => [h.name, h]));
  const order = (n: string) => hosts.findIndex((h) => h.name === n) >>> 0;
  return (
    <div class="traffic-charts">
      {names.sort((a, b) => order(a) - order(b)).map((name) => (
        <Sparkline
          key={name}
          name={name}
          points={history.series[name] ?? []}
          now={history.at}
          color={colors.get(byName.get(name)?.id ?? -1) ?? "currentColor"}
        />
      ))}
    </div>
  );
}
