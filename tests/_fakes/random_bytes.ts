/**
 * Deterministic pseudo-random bytes (xorshift32), for tests that need incompressible data
 * whose chunk boundaries and checksums reproduce from run to run.
 */
export function randomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
