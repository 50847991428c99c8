/**
 * Test data for `bench:replication`: deterministic trees of incompressible bytes (a seeded
 * PRNG, so two runs, and the rsync and appliance copies of one run, hold the same bytes),
 * and the edits the cases make to them (one changed file, a 1-byte insertion, a rename).
 * Writes are synchronous: the bench does nothing else meanwhile, and it is faster.
 */

/** sfc32: a small, fast 32-bit PRNG; good enough for incompressible test bytes. */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  constructor(seed: number) {
    this.#a = 0x9e3779b9 ^ seed;
    this.#b = 0x243f6a88 + seed;
    this.#c = 0xb7e15162 ^ (seed * 31);
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A uint32. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Fills `buf` with random bytes. */
  fill(buf: Uint8Array): Uint8Array {
    const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = this.next();
    for (let i = words.length * 4; i < buf.length; i++) buf[i] = this.next() & 0xff;
    return buf;
  }
}

export interface TreeSpec {
  /** Files in the tree. */
  files: number;
  /** Total bytes, spread over the files (each between 25 % and 175 % of the mean). */
  bytes: number;
  /** Directories the files are spread over (round robin). */
  dirs: number;
  seed: number;
}

/** The relative path of file i of a tree with `dirs` directories. */
export function treePath(spec: Pick<TreeSpec, "dirs">, i: number): string {
  const d = i % spec.dirs;
  return `d${String(d).padStart(4, "0")}/f${String(i).padStart(6, "0")}.bin`;
}

/** Writes the tree under `dir` (created); returns the bytes written. */
export function writeTree(dir: string, spec: TreeSpec): number {
  const rng = new Rng(spec.seed);
  const mean = spec.bytes / spec.files;
  const sizes = Array.from(
    { length: spec.files },
    () => Math.round(mean * (0.25 + 1.5 * rng.float())),
  );
  const buf = new Uint8Array(Math.max(...sizes));
  for (let d = 0; d < Math.min(spec.dirs, spec.files); d++) {
    Deno.mkdirSync(`${dir}/${treePath(spec, d).split("/")[0]}`, { recursive: true });
  }
  let total = 0;
  for (let i = 0; i < spec.files; i++) {
    Deno.writeFileSync(`${dir}/${treePath(spec, i)}`, rng.fill(buf.subarray(0, sizes[i])));
    total += sizes[i];
  }
  return total;
}

/** Writes one file of `bytes` random bytes, in 4 MiB pieces. */
export function writeBigFile(path: string, bytes: number, seed: number): void {
  const rng = new Rng(seed);
  const buf = new Uint8Array(4 << 20);
  const f = Deno.openSync(path, { write: true, create: true, truncate: true });
  try {
    for (let done = 0; done < bytes;) {
      const n = Math.min(buf.length, bytes - done);
      const piece = rng.fill(buf.subarray(0, n));
      for (let off = 0; off < n;) off += f.writeSync(piece.subarray(off));
      done += n;
    }
  } finally {
    f.close();
  }
}

/**
 * Inserts one byte in the middle of `path`: the new content is written to `tmp` (outside
 * the source) and renamed over the file, so a watcher sees one finished file.
 */
export function insertByte(path: string, tmp: string): { offset: number; size: number } {
  const old = Deno.readFileSync(path);
  const offset = Math.floor(old.length / 2) + 12_345;
  const out = new Uint8Array(old.length + 1);
  out.set(old.subarray(0, offset));
  out[offset] = 0x42;
  out.set(old.subarray(offset), offset + 1);
  Deno.writeFileSync(tmp, out);
  Deno.renameSync(tmp, path);
  return { offset, size: out.length };
}

/**
 * New content for an existing small file (a different size, so a half-copied file cannot
 * pass for it): written to `tmp` and renamed over it. Returns the content.
 */
export function rewriteFile(path: string, tmp: string, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const size = 1000 + (rng.next() % 3000);
  const bytes = rng.fill(new Uint8Array(size));
  Deno.writeFileSync(tmp, bytes);
  Deno.renameSync(tmp, path);
  return bytes;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
