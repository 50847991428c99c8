/**
 * Rise and fall: a service is declared unhealthy after `fall` consecutive failed probes
 * and healthy again after `rise` consecutive successes, so one slow answer does not drain
 * a host. Pure.
 */
export interface Verdict {
  healthy: boolean;
  /** Consecutive results disagreeing with the current verdict. */
  streak: number;
  reason: string;
}

export const INITIAL_VERDICT: Verdict = { healthy: true, streak: 0, reason: "not probed yet" };

/** The verdict after one probe; `changed` when it flipped. */
export function nextVerdict(
  v: Verdict,
  probe: { ok: boolean; reason: string },
  rules: { rise: number; fall: number },
): { verdict: Verdict; changed: boolean } {
  if (probe.ok === v.healthy) {
    return { verdict: { ...v, streak: 0, reason: probe.reason }, changed: false };
  }
  const streak = v.streak + 1;
  const needed = v.healthy ? rules.fall : rules.rise;
  if (streak < needed) return { verdict: { ...v, streak }, changed: false };
  return { verdict: { healthy: probe.ok, streak: 0, reason: probe.reason }, changed: true };
}
