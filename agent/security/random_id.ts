/**
 * Random identifiers drawn from the platform CSPRNG (`crypto.getRandomValues`).
 *
 * For ids that must not be guessable or collide by accident, such as cluster ids
 * and the u32 host id (`HostEntry.id`).
 */

/** Fills `array` with random values; `crypto.getRandomValues` unless a test swaps it. */
export type RandomFill = <T extends Uint8Array | Uint32Array>(array: T) => T;

const cryptoFill: RandomFill = (array) => crypto.getRandomValues(array);

/** Largest request `crypto.getRandomValues` accepts in one call (Web Crypto spec). */
const MAX_BYTES = 65536;

/** `bytes` random bytes as lowercase hex (`2 * bytes` characters). */
export function randomHex(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > MAX_BYTES) {
    throw new RangeError(
      `randomHex() needs a whole number of bytes from 1 to ${MAX_BYTES}, got ${bytes}`,
    );
  }
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A random non-zero u32 host id (`HostEntry.id` in agent/cluster/config.ts must be
 * non-zero), so a zero draw is thrown away and drawn again.
 */
export function randomHostId(fill: RandomFill = cryptoFill): number {
  const word = new Uint32Array(1);
  for (;;) {
    fill(word);
    if (word[0] !== 0) return word[0];
  }
}
