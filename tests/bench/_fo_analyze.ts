/**
 * What one failover run showed, from the client's results and the owner samples. Pure.
 *
 * Times are ms since the traffic generator started (t = 0); the fault began at faultT.
 *
 *   outage_ms              span of the failures from the fault on: start of the first failed
 *                          request to the start of the last one, plus one request interval
 *                          (so one lost request is a 10 ms outage, as in outage.ts). With
 *                          load sharing only the failed host's share of requests fails, so
 *                          this is the outage that share of clients saw.
 *   longest_failed_run_ms  outage.ts's longest run of consecutive failures: with three hosts
 *                          sharing, a fraction of outage_ms (2 of 3 requests still succeed)
 *   failed_share           failed / all requests started within that span (1/3 is h3's share)
 *   kernel_gap_ms          longest run of owner samples in which some buckets were in no
 *                          reachable host's set: new flows there are dropped, whatever the
 *                          client's timing
 *   overlap_samples        owner samples in which two reachable hosts owned a bucket at once
 *
 * A request fails on a "timeout" when its SYN met a bucket nobody accepted: the client's
 * kernel would resend it after 1 s (the initial RTO), just when the 1 s timeout gives up.
 * A real client sees such a request 1 s late rather than failed.
 */
import {
  errorCounts,
  hostCounts,
  longestOutage,
  type TrafficResult,
} from "../../agent/lab/outage.ts";
import type { OwnerRound } from "./_fo_owner_sampler.ts";

/** Requests started this shortly before the fault may still meet it. */
const IN_FLIGHT_MS = 50;
/** A failure this close to the end means the outage had not ended when measuring stopped. */
const AT_END_MS = 300;

export interface RunInput {
  results: TrafficResult[];
  rateMs: number;
  /** The fault began (ms since the traffic started) … */
  faultT: number;
  /** … and the call that made it returned. */
  faultDoneT: number;
  /** The traffic ran this long (ms). */
  durationMs: number;
  /** Owner samples, their t0/t1 already made relative to the traffic's start. */
  rounds: OwnerRound[];
  hostNames: string[];
  /** Index of the faulted host in hostNames. */
  faulted: number;
  /** Whether the faulted host is cut off from the client after the fault. */
  isolates: boolean;
}

export interface RunMetrics {
  requests: number;
  failed: number;
  failed_before_fault: number;
  /** Resets and refusals before the fault, every live host healthy: a duplicate-owner sign. */
  resets_before_fault: number;
  outage_ms: number;
  longest_failed_run_ms: number;
  failed_share: number | null;
  /** Requests started within the outage span (what failed_share is a share of). */
  outage_requests: number;
  /** The outage still went on when the measurement ended. */
  failing_at_end: boolean;
  served: Record<string, number>;
  served_after_fault: Record<string, number>;
  errors: Record<string, number>;
  owner_samples: number;
  overlap_samples: number;
  overlap_max_buckets: number;
  overlap_pairs: Record<string, number>;
  /** Samples where the cut-off host and a reachable one owned the same bucket (harmless). */
  isolated_overlap_samples: number;
  kernel_gap_ms: number;
  max_uncovered_buckets: number;
  fault_call_ms: number;
}

export function analyze(r: RunInput): RunMetrics {
  const cutoff = r.faultT - IN_FLIGHT_MS;
  const after = r.results.filter((x) => x.t >= cutoff);
  const before = r.results.filter((x) => x.t < cutoff);
  const failedAfter = after.filter((x) => !x.ok).sort((a, b) => a.t - b.t);
  const first = failedAfter[0], last = failedAfter.at(-1);
  const outage = first && last ? last.t - first.t + r.rateMs : 0;
  const inSpan = first && last ? after.filter((x) => x.t >= first.t && x.t <= last.t).length : 0;
  return {
    requests: r.results.length,
    failed: r.results.filter((x) => !x.ok).length,
    failed_before_fault: before.filter((x) => !x.ok).length,
    resets_before_fault: before.filter((x) => x.error === "reset" || x.error === "refused")
      .length,
    outage_ms: outage,
    longest_failed_run_ms: longestOutage(r.results)?.durationMs ?? 0,
    failed_share: inSpan ? round3(failedAfter.length / inSpan) : null,
    outage_requests: inSpan,
    failing_at_end: last !== undefined && last.t >= r.durationMs - AT_END_MS,
    served: hostCounts(r.results),
    served_after_fault: hostCounts(r.results.filter((x) => x.t >= r.faultDoneT)),
    errors: errorCounts(r.results),
    ...owners(r),
    fault_call_ms: Math.round(r.faultDoneT - r.faultT),
  };
}

function owners(r: RunInput) {
  const rounds = r.rounds.filter((x) => x.t0 >= 0 && x.t0 <= r.durationMs);
  const pairs: Record<string, number> = {};
  let overlapSamples = 0, isolatedSamples = 0, maxBuckets = 0, maxUncovered = 0;
  let gapStart: number | undefined, longestGap = 0;
  for (const x of rounds) {
    const cutOff = r.isolates && x.t0 >= r.faultT;
    let dup = 0, isolatedDup = false;
    for (const [key, k] of Object.entries(x.overlap)) {
      const [i, j] = key.split("-").map(Number);
      if (cutOff && (i === r.faulted || j === r.faulted)) {
        isolatedDup = true;
        continue;
      }
      const name = `${r.hostNames[i]}-${r.hostNames[j]}`;
      pairs[name] = (pairs[name] ?? 0) + 1;
      dup += k;
    }
    if (dup > 0) overlapSamples++;
    if (isolatedDup) isolatedSamples++;
    maxBuckets = Math.max(maxBuckets, dup);
    const uncovered = cutOff ? x.uncoveredWithout[r.faulted] : x.uncovered;
    maxUncovered = Math.max(maxUncovered, uncovered);
    if (uncovered > 0) gapStart ??= x.t0;
    else if (gapStart !== undefined) {
      longestGap = Math.max(longestGap, x.t0 - gapStart);
      gapStart = undefined;
    }
  }
  const lastRound = rounds.at(-1);
  if (gapStart !== undefined && lastRound) {
    longestGap = Math.max(longestGap, lastRound.t1 - gapStart);
  }
  return {
    owner_samples: rounds.length,
    overlap_samples: overlapSamples,
    overlap_max_buckets: maxBuckets,
    overlap_pairs: pairs,
    isolated_overlap_samples: isolatedSamples,
    kernel_gap_ms: longestGap,
    max_uncovered_buckets: maxUncovered,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
