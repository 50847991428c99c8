/** Summaries of benchmark samples: median, p90 (nearest rank), max, rounded for JSON. */

export interface Summary {
  n: number;
  median: number | null;
  p90: number | null;
  max: number | null;
  raw: number[];
}

export function summarize(values: number[], digits = 1): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (q: number) => sorted.length === 0 ? null : round(quantile(sorted, q), digits);
  return {
    n: sorted.length,
    median: pick(0.5),
    p90: pick(0.9),
    max: sorted.length === 0 ? null : round(sorted[sorted.length - 1], digits),
    raw: values.map((v) => round(v, digits)),
  };
}

/** Nearest-rank quantile of sorted values; the median of an even count is the mean of the middle two. */
export function quantile(sorted: number[], q: number): number {
  if (q === 0.5 && sorted.length % 2 === 0) {
    return (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  }
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

export function median(values: number[]): number {
  return quantile([...values].sort((a, b) => a - b), 0.5);
}

export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Progress for a human, on stderr, so stdout stays one JSON object. */
export function progress(line: string): void {
  console.error(`bench: ${line}`);
}
