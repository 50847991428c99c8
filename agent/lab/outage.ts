/**
 * What client traffic saw, from the generator's results (agent/lab/traffic.ts). Pure.
 *
 * An outage is a run of consecutive failed requests, ordered by start time; it lasts from
 * the first failed request's start to the start of the next successful one (or, when
 * nothing succeeded afterwards, to the end of the last failed request). So one failed
 * request in a steady 10 ms stream counts as a 10 ms outage: the measure's resolution is
 * the request interval.
 */

export interface TrafficResult {
  /** 0, 1, 2, … in the order the requests started. */
  seq: number;
  /** When the request started, in ms since the generator started. */
  t: number;
  ok: boolean;
  /** Who answered (the body of the reply), when ok. */
  host?: string;
  /** Why it failed ("timeout", "refused", …), when not ok. */
  error?: string;
  /** How long the request took, in ms. */
  ms: number;
}

export interface Outage {
  /** Start of the first failed request in the run (ms since the generator started). */
  startT: number;
  durationMs: number;
  /** Failed requests in the run. */
  failed: number;
}

/** Every outage, in time order. */
export function outages(results: readonly TrafficResult[]): Outage[] {
  const sorted = [...results].sort((a, b) => a.t - b.t || a.seq - b.seq);
  const out: Outage[] = [];
  let run: TrafficResult[] = [];
  for (const r of sorted) {
    if (!r.ok) {
      run.push(r);
      continue;
    }
    if (run.length > 0) {
      out.push({ startT: run[0].t, durationMs: r.t - run[0].t, failed: run.length });
    }
    run = [];
  }
  if (run.length > 0) {
    const last = run[run.length - 1];
    out.push({ startT: run[0].t, durationMs: last.t + last.ms - run[0].t, failed: run.length });
  }
  return out;
}

/** The longest outage (by duration), or undefined when every request succeeded. */
export function longestOutage(results: readonly TrafficResult[]): Outage | undefined {
  let best: Outage | undefined;
  for (const o of outages(results)) if (!best || o.durationMs > best.durationMs) best = o;
  return best;
}

export function failedCount(results: readonly TrafficResult[]): number {
  return results.filter((r) => !r.ok).length;
}

/** Successful requests per answering host. */
export function hostCounts(results: readonly TrafficResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    if (r.ok && r.host !== undefined) counts[r.host] = (counts[r.host] ?? 0) + 1;
  }
  return counts;
}

/** Each host's fraction of the successful requests (0..1; empty when none succeeded). */
export function hostShares(results: readonly TrafficResult[]): Record<string, number> {
  const counts = hostCounts(results);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const shares: Record<string, number> = {};
  for (const [host, n] of Object.entries(counts)) shares[host] = n / total;
  return shares;
}

/** Failed requests per error. */
export function errorCounts(results: readonly TrafficResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    if (!r.ok) counts[r.error ?? "unknown"] = (counts[r.error ?? "unknown"] ?? 0) + 1;
  }
  return counts;
}

export interface TrafficSummary {
  total: number;
  ok: number;
  failed: number;
  longestOutageMs: number;
  hosts: Record<string, number>;
  errors: Record<string, number>;
}

export function summarize(results: readonly TrafficResult[]): TrafficSummary {
  const failed = failedCount(results);
  return {
    total: results.length,
    ok: results.length - failed,
    failed,
    longestOutageMs: longestOutage(results)?.durationMs ?? 0,
    hosts: hostCounts(results),
    errors: errorCounts(results),
  };
}
