/**
 * Was a host healthy? Answers it from the cluster's fault record, for counting false
 * suspicions: a "peer.down" is false when its subject was running, reachable from the
 * observer and not frozen for longer than the cluster tolerates, through the whole window
 * in which the mark could have been earned.
 */
import type { Fault } from "./cluster.ts";

export interface Interval {
  from: number;
  to: number;
}

/**
 * When `host` was not a healthy running process: before its first start, while crashed or
 * gone after a leave, and during any pause longer than `pauseToleranceMs`.
 */
export function unhealthy(faults: Fault[], host: number, pauseToleranceMs: number): Interval[] {
  const out: Interval[] = [];
  let downSince: number | undefined = -Infinity;
  for (const f of faults) {
    if (f.kind === "partition" || f.kind === "network" || f.host !== host) continue;
    if (f.kind === "start" || f.kind === "restart") {
      // A restart of a running host is a crash and a start at the same instant.
      out.push({ from: downSince ?? f.at, to: f.at });
      downSince = undefined;
    } else if (f.kind === "crash" || f.kind === "leave") {
      downSince ??= f.at;
    } else if (f.kind === "pause" && f.until - f.at > pauseToleranceMs) {
      out.push({ from: f.at, to: f.until });
    }
  }
  if (downSince !== undefined) out.push({ from: downSince, to: Infinity });
  return out;
}

/** When a partition stood between hosts `a` and `b` (an unlisted host reaches everyone). */
export function separated(faults: Fault[], a: number, b: number): Interval[] {
  const out: Interval[] = [];
  for (const f of faults) {
    if (f.kind !== "partition") continue;
    const ga = f.groups.findIndex((g) => g.includes(a));
    const gb = f.groups.findIndex((g) => g.includes(b));
    if (ga >= 0 && gb >= 0 && ga !== gb) out.push({ from: f.at, to: f.until });
  }
  return out;
}

export function overlaps(xs: Interval[], from: number, to: number): boolean {
  return xs.some((x) => x.from <= to && x.to >= from);
}

/**
 * Whether `observer` marking `subject` down at `at` evicted a healthy host: neither was
 * unhealthy and no partition split them during [at - windowMs, at].
 */
export function isFalseSuspicion(
  faults: Fault[],
  observer: number,
  subject: number,
  at: number,
  opts: { windowMs: number; pauseToleranceMs: number },
): boolean {
  const from = at - opts.windowMs;
  for (const host of [subject, observer]) {
    if (overlaps(unhealthy(faults, host, opts.pauseToleranceMs), from, at)) return false;
  }
  return !overlaps(separated(faults, observer, subject), from, at);
}
