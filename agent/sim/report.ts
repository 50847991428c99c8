/**
 * Folds repeated runs of one scenario into one row (median of each metric, and its max)
 * and renders rows as a table for people or JSON for tools.
 */
import type { Metrics, ScenarioName } from "./scenarios.ts";

export const METRIC_KEYS = [
  "detect_ms",
  "converge_ms",
  "buckets_moved",
  "false_suspicions",
  "duplicate_owner_ms",
] as const;
export type MetricKey = typeof METRIC_KEYS[number];

export interface Row {
  scenario: ScenarioName;
  hosts: number;
  detect_ms: number | null;
  converge_ms: number | null;
  buckets_moved: number | null;
  false_suspicions: number | null;
  duplicate_owner_ms: number | null;
  /** Present when more than one run was folded in. */
  runs?: number;
  max?: Record<MetricKey, number | null>;
}

/** The median (mean of the middle two for an even count) of the non-null values, or null. */
export function median(values: (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

function max(values: (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length === 0 ? null : Math.max(...xs);
}

/** One row per run set; all runs must be of the same scenario and size. */
export function fold(runs: Metrics[]): Row {
  if (runs.length === 0) throw new Error("fold() needs at least one run");
  const { scenario, hosts } = runs[0];
  const row = { scenario, hosts } as Row;
  for (const k of METRIC_KEYS) row[k] = median(runs.map((r) => r[k]));
  if (runs.length > 1) {
    row.runs = runs.length;
    row.max = Object.fromEntries(METRIC_KEYS.map((k) => [k, max(runs.map((r) => r[k]))])) as Record<
      MetricKey,
      number | null
    >;
  }
  return row;
}

/** A fixed-width table; with several runs each cell reads "median (max)". */
export function table(rows: Row[]): string {
  const head = ["scenario", "hosts", ...METRIC_KEYS];
  const cells = rows.map((r) => [
    r.scenario,
    String(r.hosts),
    ...METRIC_KEYS.map((k) => cell(r[k]) + (r.max ? ` (${cell(r.max[k])})` : "")),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (cs: string[]) =>
    cs.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd();
  const out = [line(head), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)];
  if (rows.some((r) => r.max)) {
    out.push("", "cells: median (max) over the runs; - = not applicable");
  } else out.push("", "- = not applicable");
  return out.join("\n");
}

function cell(v: number | null): string {
  return v === null ? "-" : String(Math.round(v * 10) / 10);
}
