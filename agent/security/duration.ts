/**
 * Human durations for command-line flags such as `--ttl 30m`.
 *
 * A duration is one or more `<number><unit>` pieces with no spaces between them,
 * as in Go: "500ms", "90s", "30m", "1h", "2d", "1h30m", "1.5h". Units: ms, s, m,
 * h, d (a day is 24 h). Anything else is rejected, including a bare number,
 * because "30" could mean seconds or minutes.
 */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PIECE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;

/**
 * Parses `s` into whole milliseconds (rounded), or `undefined` when `s` is not a
 * duration. Surrounding whitespace is ignored; units are case-sensitive.
 */
export function parseDuration(s: string): number | undefined {
  const text = s.trim();
  if (!WHOLE.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PIECE)) {
    total += Number(amount) * UNIT_MS[unit];
  }
  const ms = Math.round(total);
  return Number.isSafeInteger(ms) ? ms : undefined;
}
