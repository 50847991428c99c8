/**
 * Content-defined chunking (FastCDC with normalized chunking), streaming.
 *
 *   chunk: ├── min: skipped ──┤── strict mask (bits+2) ──┤── loose mask (bits-2) ──┤ max: forced cut
 *          0                 min                        avg                       max
 *
 * A rolling gear hash `h = (h << 1) + GEAR[byte]` (32 bits) runs from the `min`-th byte of
 * each chunk; a cut falls after the first byte where the hash's top bits under the mask are
 * all zero. The stricter mask before `avg` and the looser one after it pull chunk sizes
 * towards `avg`. Since the hash only sees the last 32 bytes, an edit moves the boundaries
 * around it and no others: the chunks after it realign.
 *
 * The state between slices is just (bytes in the current chunk, hash), so the boundaries
 * do not depend on how the input is sliced.
 *
 * Pure: the gear table comes from SHA-256 of a fixed seed, the same on every host.
 */
import { createHash } from "node:crypto";

export const CHUNK_MIN = 16 * 1024, CHUNK_AVG = 64 * 1024, CHUNK_MAX = 256 * 1024;

export interface ChunkerOptions {
  /** Smallest chunk (except the last): default CHUNK_MIN. */
  min?: number;
  /** Target average; its log2 (rounded) sets the mask widths: default CHUNK_AVG. */
  avg?: number;
  /** Largest chunk, cut unconditionally: default CHUNK_MAX. */
  max?: number;
}

/** 256 pseudo-random 32-bit words: SHA-256("appliance/fastcdc/gear/<i>"), first 4 bytes. */
const GEAR: Int32Array = (() => {
  const g = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    const d = createHash("sha256").update(`appliance/fastcdc/gear/${i}`).digest();
    g[i] = d.readInt32BE(0);
  }
  return g;
})();

/** A mask of the top `bits` bits of a 32-bit word, as an int32. */
function topBits(bits: number): number {
  return bits >= 32 ? -1 : (((1 << bits) - 1) << (32 - bits)) | 0;
}

/** Streaming FastCDC: feed bytes in slices of any size; returns the lengths of the chunks completed so far by this slice, in order. */
export class Chunker {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
  readonly #maskS: number;
  readonly #maskL: number;
  /** Bytes in the current, unfinished chunk. */
  #n = 0;
  #h = 0;

  constructor(opts: ChunkerOptions = {}) {
    const { min = CHUNK_MIN, avg = CHUNK_AVG, max = CHUNK_MAX } = opts;
    if (![min, avg, max].every(Number.isSafeInteger) || !(0 < min && min < avg && avg < max)) {
      throw new Error(
        `invalid chunk sizes min=${min} avg=${avg} max=${max}: need integers with 0 < min < avg < max`,
      );
    }
    const bits = Math.round(Math.log2(avg));
    if (bits < 4 || bits > 29) throw new Error(`invalid chunk average ${avg}: need 16..2^29`);
    this.min = min, this.avg = avg, this.max = max;
    this.#maskS = topBits(bits + 2);
    this.#maskL = topBits(bits - 2);
  }

  update(bytes: Uint8Array): number[] {
    const out: number[] = [];
    const { min, avg, max } = this;
    const len = bytes.length;
    let n = this.#n, h = this.#h, i = 0;
    while (i < len) {
      if (n < min) {
        const skip = Math.min(min - n, len - i);
        n += skip, i += skip;
        continue;
      }
      const strict = n < avg;
      const mask = strict ? this.#maskS : this.#maskL;
      const stop = Math.min(len, i + (strict ? avg : max) - n);
      let j = i, cut = false;
      while (j < stop) {
        h = ((h << 1) + GEAR[bytes[j++]]) | 0;
        if ((h & mask) === 0) {
          cut = true;
          break;
        }
      }
      n += j - i, i = j;
      if (cut || n === max) out.push(n), n = 0, h = 0;
    }
    this.#n = n, this.#h = h;
    return out;
  }

  /** The final chunk's length, if bytes are pending (else []). */
  finish(): number[] {
    const n = this.#n;
    this.#n = 0, this.#h = 0;
    return n > 0 ? [n] : [];
  }
}

/** Convenience: the chunk lengths of a whole buffer. */
export function chunkLengths(bytes: Uint8Array, opts?: ChunkerOptions): number[] {
  const c = new Chunker(opts);
  return [...c.update(bytes), ...c.finish()];
}
