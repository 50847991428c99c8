/**
 * Small async filesystem and scheduling helpers shared by the content store, the ingest
 * scan and the file assembler (private to agent/replication/).
 *
 * The agent's heartbeat timer runs on the same event loop as replication, so long work
 * is async I/O (Deno runs it on its thread pool) plus short CPU slices separated by
 * `cooperate()`, which yields to timers whenever the loop has not reached them lately.
 */

import { createHash } from "node:crypto";

export function isNotFound(e: unknown): boolean {
  return e instanceof Deno.errors.NotFound;
}

/** lstat, or undefined when the path does not exist. */
export async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** fsync(2) of a file or directory (a directory's entries become durable). */
export async function fsyncPath(path: string): Promise<void> {
  const f = await Deno.open(path, { read: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
}

let syncfsWorks = true;

/**
 * syncfs(2) of the filesystem holding `path`, through coreutils' `sync -f`: one call
 * makes every write so far durable. False (and the caller fsyncs file by file) where the
 * command is missing or refused.
 */
export async function syncFilesystem(path: string): Promise<boolean> {
  if (!syncfsWorks) return false;
  try {
    const r = await new Deno.Command("sync", { args: ["-f", path], stdout: "null", stderr: "null" })
      .output();
    if (r.success) return true;
  } catch { /* not installed, or no --allow-run */ }
  syncfsWorks = false;
  return false;
}

/** Removes a path if present; a directory goes with its contents, symlinks are not followed. */
export async function removeIfPresent(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/** Writes all of `bytes` at the file's current position (write(2) may write less). */
export async function writeAll(f: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await f.write(bytes.subarray(off));
}

/**
 * A slice of a file with synchronous calls (open, fstat, pread, close: ~15 µs from the page
 * cache, against ~300 µs as four async ops), for reads of at most a chunk: `size` bytes at
 * `offset`, or with `size` undefined the whole file if it has at most `max` bytes. Also
 * the file's mtime. Undefined if the file is absent, shorter, or larger than `max`.
 */
export function readSliceSync(
  path: string,
  offset: number,
  size: number | undefined,
  max: number,
): { bytes: Uint8Array; mtimeMs: number } | undefined {
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  try {
    const st = f.statSync();
    const want = size ?? st.size;
    if (want > max || offset + want > st.size) return undefined;
    if (offset > 0) f.seekSync(offset, Deno.SeekMode.Start);
    const buf = new Uint8Array(want);
    for (let got = 0; got < want;) {
      const n = f.readSync(buf.subarray(got));
      if (n === null || n === 0) return undefined;
      got += n;
    }
    return { bytes: buf, mtimeMs: st.mtime?.getTime() ?? NaN };
  } finally {
    f.close();
  }
}

/** Reads exactly `size` bytes from the current position, or undefined at an early EOF. */
export async function readFull(f: Deno.FsFile, size: number): Promise<Uint8Array | undefined> {
  const buf = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = await f.read(buf.subarray(got));
    if (n === null) return undefined;
    got += n;
  }
  return buf;
}

/** Resolves after the macrotask queue (timers included) had its turn. */
export function yieldToTimers(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Longest run of CPU work between two visits of the event loop to its timers. */
export const CPU_SLICE_MS = 4;
let timersSeenAt = 0, markArmed = false;

/**
 * Call between steps of any long loop: CPU work (hashing a slice, encoding a tree) and
 * also async file operations, since Deno resolves quickly-completing ops ahead of due
 * timers (measured: a loop of awaited lstat calls starves a 10 ms interval for 400 ms).
 * mapLimit and Limiter call it after each task. Returns at once while
 * the event loop has reached its timers within the last CPU_SLICE_MS; otherwise waits for
 * them (≈1–2 ms), so a heartbeat is never held up by more than a few milliseconds.
 */
export async function cooperate(): Promise<void> {
  const now = performance.now();
  if (!markArmed) {
    markArmed = true;
    const id = setTimeout(() => {
      timersSeenAt = performance.now();
      markArmed = false;
    }, 0);
    Deno.unrefTimer(id);
    if (timersSeenAt === 0) timersSeenAt = now;
  }
  if (now - timersSeenAt <= CPU_SLICE_MS) return;
  await yieldToTimers();
  timersSeenAt = performance.now();
}

/** Runs tasks one at a time, in call order; a failed task does not stop those after it. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => {});
    return run;
  }
}

/** Runs at most `n` async tasks at a time; queued callers wait their turn (FIFO). */
export class Limiter {
  #free: number;
  /** Waiting callers, FIFO from #head (no Array.shift: O(n) on a long queue). */
  #queue: ((() => void) | undefined)[] = [];
  #head = 0;

  constructor(n: number) {
    this.#free = Math.max(1, n);
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#queue.push(resolve));
    try {
      const r = await fn();
      await cooperate();
      return r;
    } finally {
      const next = this.#queue[this.#head];
      if (next) {
        this.#queue[this.#head++] = undefined;
        if (this.#head === this.#queue.length) this.#queue = [], this.#head = 0;
        next();
      } else this.#free++;
    }
  }
}

/**
 * Fire-and-collect tasks with at most `n` in flight: `add` waits while the pool is full
 * (back-pressure), `drain` waits for all and throws the first error any task threw.
 */
export class TaskPool {
  #n: number;
  #running = new Set<Promise<void>>();
  #error: unknown = undefined;
  #failed = false;

  constructor(n: number) {
    this.#n = Math.max(1, n);
  }

  async add(fn: () => Promise<void>): Promise<void> {
    while (this.#running.size >= this.#n) await Promise.race(this.#running);
    this.#throwIfFailed();
    const p: Promise<void> = fn().catch((e) => {
      if (!this.#failed) this.#failed = true, this.#error = e;
    }).finally(() => this.#running.delete(p));
    this.#running.add(p);
  }

  async drain(): Promise<void> {
    while (this.#running.size > 0) await Promise.race(this.#running);
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#failed) throw this.#error;
  }
}

/**
 * Maps `items` through `fn` with at most `n` calls in flight, keeping the order. On an
 * error, no new call starts and the first error is thrown once the running ones ended.
 */
export async function mapLimit<T, R>(
  items: readonly T[],
  n: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
        await cooperate();
      } catch (e) {
        next = items.length; // the other workers finish what they hold and stop
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(
    Array.from({ length: Math.min(n, items.length) }, worker),
  );
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return out;
}

/**
 * SHA-256 (hex) of a file, read in slices with `cooperate()` between them. One buffer per
 * call, 64 KiB and 1 MiB once a read fills it: a fresh 1 MiB buffer per slice (zeroed by
 * the allocator) cost more than the hashing itself for files of tens of KiB.
 */
export async function hashFile(path: string): Promise<string> {
  const h = createHash("sha256");
  const f = await Deno.open(path, { read: true });
  try {
    let buf = new Uint8Array(64 << 10);
    for (;;) {
      const n = await f.read(buf);
      if (n === null) break;
      h.update(buf.subarray(0, n));
      if (n === buf.length && buf.length < 1 << 20) buf = new Uint8Array(1 << 20);
      await cooperate();
    }
  } finally {
    f.close();
  }
  return h.digest("hex");
}
