/**
 * The wire framing for streaming batches of chunks between hosts.
 *
 *   ┌──────────────────────┬───────┬──────────────────┬─────────────────────┐
 *   │ hash: 32 raw bytes   │ flags │ length: u32 BE   │ payload: length B   │
 *   │ SHA-256 of the chunk │ 1 B   │ of the payload   │ (deflate-raw if     │
 *   │ (uncompressed)       │ bit 0 │                  │  flags bit 0)       │
 *   └──────────────────────┴───────┴──────────────────┴─────────────────────┘
 *
 * Compression is used only where it pays: a sample of at most 4 KiB whose byte entropy
 * says random is sent as is; otherwise deflate-raw level 1 is tried on the sample first,
 * and the compressed form is kept only when it is under 90% of the original. The decoder
 * does not verify hashes: the caller does, against what it asked for.
 *
 * Pure: node:zlib's synchronous codec, no I/O.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { type Hash, isHash } from "./tree.ts";

export const FRAME_HEADER_BYTES = 37;
/** Largest payload (and largest decompressed chunk) a frame may carry. */
export const FRAME_MAX_PAYLOAD = 8 * 1024 * 1024;
export const FLAG_DEFLATE = 1;

const SAMPLE_BYTES = 4096;
const PAYS = 0.9;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hashToBytes(hash: Hash, out: Uint8Array): void {
  if (!isHash(hash)) {
    throw new Error(`cannot frame chunk: ${JSON.stringify(hash)} is not a SHA-256 hex hash`);
  }
  for (let i = 0; i < 32; i++) out[i] = parseInt(hash.slice(2 * i, 2 * i + 2), 16);
}

function bytesToHash(b: Uint8Array): Hash {
  let s = "";
  for (let i = 0; i < 32; i++) s += HEX[b[i]];
  return s;
}

/** Bits per byte above which a sample is taken as incompressible without trying deflate. */
export const RANDOM_BITS_PER_BYTE = 7.9;

/**
 * True when the sample's byte entropy (order 0) is above RANDOM_BITS_PER_BYTE, as for
 * random, encrypted or already compressed data (4 KiB of random bytes: ~7.95). A histogram
 * costs a few µs against ~40 µs for deflating the sample, which then fails on most of a
 * web tree's bytes (images, archives). Repeats deflate would find in such a sample are
 * missed: a compression opportunity lost, never a wrong byte.
 */
export function looksIncompressible(sample: Uint8Array): boolean {
  const counts = new Uint32Array(256);
  for (let i = 0; i < sample.length; i++) counts[sample[i]]++;
  let bits = 0;
  for (let b = 0; b < 256; b++) {
    const c = counts[b];
    if (c > 0) bits -= c * Math.log2(c / sample.length);
  }
  return bits / sample.length > RANDOM_BITS_PER_BYTE;
}

/** Deflated `bytes` when that is under 90% of their size, else undefined. */
function compressIfPays(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < 64) return undefined;
  const sample = bytes.subarray(0, SAMPLE_BYTES);
  if (looksIncompressible(sample)) return undefined;
  const packedSample = deflateRawSync(sample, { level: 1 });
  if (packedSample.length >= sample.length * PAYS) return undefined;
  const packed = sample.length === bytes.length
    ? packedSample
    : deflateRawSync(bytes, { level: 1 });
  return packed.length < bytes.length * PAYS ? packed : undefined;
}

/** One frame for a chunk; with `compress` (default false), deflated only where it pays. */
export function encodeFrame(
  hash: Hash,
  bytes: Uint8Array,
  opts: { compress?: boolean } = {},
): Uint8Array {
  if (bytes.length > FRAME_MAX_PAYLOAD) {
    throw new Error(
      `cannot frame chunk ${hash}: ${bytes.length} bytes (at most ${FRAME_MAX_PAYLOAD})`,
    );
  }
  const packed = opts.compress ? compressIfPays(bytes) : undefined;
  const payload = packed ?? bytes;
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  hashToBytes(hash, out);
  out[32] = packed ? FLAG_DEFLATE : 0;
  new DataView(out.buffer).setUint32(33, payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Incremental decoder: push arbitrary slices, get complete frames (decompressed, NOT
 * hash-verified: the caller verifies). Throws on a malformed frame (length > 8 MiB,
 * unknown flags, bad deflate data); after that the stream is unusable and must be dropped.
 * Each byte is copied once: the header into a fixed buffer, the payload into one of its size.
 */
export class FrameDecoder {
  #header = new Uint8Array(FRAME_HEADER_BYTES);
  #headerFill = 0;
  #payload: Uint8Array | undefined;
  #payloadFill = 0;

  push(bytes: Uint8Array): { hash: Hash; bytes: Uint8Array; wireBytes: number }[] {
    const out: { hash: Hash; bytes: Uint8Array; wireBytes: number }[] = [];
    let i = 0;
    while (i < bytes.length) {
      if (!this.#payload) {
        const take = Math.min(FRAME_HEADER_BYTES - this.#headerFill, bytes.length - i);
        this.#header.set(bytes.subarray(i, i + take), this.#headerFill);
        this.#headerFill += take, i += take;
        if (this.#headerFill < FRAME_HEADER_BYTES) break;
        this.#payload = new Uint8Array(this.#readHeader());
        this.#payloadFill = 0;
      }
      const p = this.#payload;
      const take = Math.min(p.length - this.#payloadFill, bytes.length - i);
      p.set(bytes.subarray(i, i + take), this.#payloadFill);
      this.#payloadFill += take, i += take;
      if (this.#payloadFill < p.length) break;
      out.push(this.#complete(p));
    }
    return out;
  }

  /** true when no partial frame is buffered */
  get idle(): boolean {
    return this.#headerFill === 0 && !this.#payload;
  }

  /** Validates the buffered header; returns the payload length. */
  #readHeader(): number {
    const h = this.#header;
    const flags = h[32];
    const len = new DataView(h.buffer).getUint32(33);
    const hash = bytesToHash(h);
    if (flags & ~FLAG_DEFLATE) {
      throw new Error(`malformed chunk frame for ${hash}: unknown flags 0x${flags.toString(16)}`);
    }
    if (len > FRAME_MAX_PAYLOAD) {
      throw new Error(
        `malformed chunk frame for ${hash}: payload of ${len} bytes (at most ${FRAME_MAX_PAYLOAD})`,
      );
    }
    return len;
  }

  #complete(payload: Uint8Array): { hash: Hash; bytes: Uint8Array; wireBytes: number } {
    const hash = bytesToHash(this.#header);
    const deflated = (this.#header[32] & FLAG_DEFLATE) !== 0;
    this.#headerFill = 0, this.#payload = undefined, this.#payloadFill = 0;
    const wireBytes = FRAME_HEADER_BYTES + payload.length;
    if (!deflated) return { hash, bytes: payload, wireBytes };
    let bytes: Uint8Array;
    try {
      bytes = inflateRawSync(payload, { maxOutputLength: FRAME_MAX_PAYLOAD });
    } catch (e) {
      throw new Error(
        `malformed chunk frame for ${hash}: cannot inflate (${(e as Error).message})`,
      );
    }
    return { hash, bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length), wireBytes };
  }
}
