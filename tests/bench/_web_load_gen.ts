/**
 * The load generator of `bench:web`, run in its own process so that it does not share an
 * event loop with what it measures: N workers each keep one GET in flight (keep-alive
 * connections from fetch's pool) for S seconds after a short warm-up, then one JSON line
 * on stdout: requests, errors by status, req/s and latency percentiles (ms).
 *
 *   deno run --allow-net _web_load_gen.ts URL COOKIE CONCURRENCY SECONDS
 */
import { quantile, round } from "./_stats.ts";

const WARMUP_MS = 500;

export interface LoadResult {
  concurrency: number;
  seconds: number;
  requests: number;
  errors: Record<string, number>;
  rps: number;
  latencyMs: { p50: number; p99: number; max: number };
  bytesPerResponse: number;
}

async function main([url, cookie, n, s]: string[]): Promise<LoadResult> {
  const concurrency = Number(n), seconds = Number(s);
  if (!url || !cookie || !(concurrency >= 1) || !(seconds > 0)) {
    throw new Error("usage: _web_load_gen.ts URL COOKIE CONCURRENCY SECONDS");
  }
  const headers = { cookie };
  const warmEnd = performance.now() + WARMUP_MS;
  const end = warmEnd + seconds * 1000;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let bytes = 0;
  const worker = async () => {
    while (true) {
      const t0 = performance.now();
      if (t0 >= end) return;
      let status = "network";
      try {
        const res = await fetch(url, { headers });
        const body = await res.arrayBuffer();
        const t1 = performance.now();
        status = String(res.status);
        if (t1 > end) return;
        if (res.ok && t0 >= warmEnd) {
          latencies.push(t1 - t0);
          bytes += body.byteLength;
          continue;
        }
      } catch { /* counted below */ }
      if (t0 >= warmEnd) errors[status] = (errors[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const sorted = latencies.sort((a, b) => a - b);
  return {
    concurrency,
    seconds,
    requests: sorted.length,
    errors,
    rps: round(sorted.length / seconds, 0),
    latencyMs: {
      p50: round(quantile(sorted, 0.5), 2),
      p99: round(quantile(sorted, 0.99), 2),
      max: round(sorted.at(-1) ?? NaN, 2),
    },
    bytesPerResponse: sorted.length ? Math.round(bytes / sorted.length) : 0,
  };
}

if (import.meta.main) console.log(JSON.stringify(await main(Deno.args)));
