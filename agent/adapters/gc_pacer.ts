/**
 * Keeps the agent's garbage bounded: a full garbage collection whenever the JS heap and the
 * memory held by ArrayBuffers grew by `budgetBytes` since the last one.
 *
 * Replication moves hundreds of MB through short-lived buffers (chunks read, framed,
 * received, hashed, written). V8 sizes its heap by the memory the machine has, so on a
 * big machine it let the garbage pile up: after the first sync of a 100k-file tree an
 * importer held 160 MB of dead heap and 170 MB of dead buffers, while what was alive was
 * some 31 MB (heap snapshot), and its RSS peaked near 500 MB. A full collection pauses the
 * agent for about 1-2 ms per MB alive (~60 ms measured during a 10k-file sync), under the
 * peers' suspicion time (3 heartbeats); at most one runs per `everyMs` check.
 *
 * After a collection, glibc's malloc_trim(0) hands the freed native memory back (the
 * buffers of file and socket operations come from malloc arenas that otherwise keep it).
 *
 * V8 offers the collector to scripts only with --expose-gc; the flag is set at run time
 * (node:v8) and the function taken from a fresh context (node:vm), so `appliance` needs no
 * extra command-line flag. Where that fails, the pacer does nothing; without FFI, it only
 * collects.
 */
import v8 from "node:v8";
import vm from "node:vm";

export interface GcPacerOptions {
  /** Growth of heapUsed + external since the last collection that triggers one. Default 32 MiB. */
  budgetBytes?: number;
  /** How often the growth is checked, ms. Default 100. */
  everyMs?: number;
  /** Memory figures (default Deno.memoryUsage) and the collector (default V8's), for tests. */
  usage?: () => { heapUsed: number; external: number };
  collect?: () => void;
  /** Returns freed native memory to the system (default glibc's malloc_trim(0), if any). */
  trim?: () => void;
}

export interface GcPacer {
  /** Collections run so far, and the ms they took (with the trims). */
  readonly collections: number;
  readonly spentMs: number;
  stop(): void;
}

/** V8's full collection, or undefined where the runtime does not give it. */
export function v8Collector(): (() => void) | undefined {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc");
    return typeof gc === "function" ? () => gc() : undefined;
  } catch {
    return undefined;
  }
}

/** glibc's malloc_trim(0) through FFI (close() unloads it), or undefined without FFI or glibc. */
export function mallocTrim(): { trim: () => void; close: () => void } | undefined {
  // Never a permission prompt: only where FFI is already allowed.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
  try {
    const lib = Deno.dlopen("libc.so.6", {
      /** int malloc_trim(size_t pad); */
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return { trim: () => void lib.symbols.malloc_trim(0n), close: () => lib.close() };
  } catch {
    return undefined;
  }
}

export function startGcPacer(o: GcPacerOptions = {}): GcPacer {
  const collect = o.collect ?? v8Collector();
  const usage = o.usage ?? (() => Deno.memoryUsage());
  const native = o.trim || !collect ? undefined : mallocTrim();
  const trim = o.trim ?? native?.trim;
  const budget = o.budgetBytes ?? 32 << 20;
  const held = () => {
    const u = usage();
    return u.heapUsed + u.external;
  };
  let base = held(), collections = 0, spentMs = 0;
  const timer = collect
    ? setInterval(() => {
      const now = held();
      if (now - base < budget) {
        base = Math.min(base, now);
        return;
      }
      const t0 = performance.now();
      collect();
      trim?.();
      spentMs += performance.now() - t0;
      collections++;
      base = held();
    }, o.everyMs ?? 100)
    : undefined;
  return {
    get collections() {
      return collections;
    },
    get spentMs() {
      return Math.round(spentMs);
    },
    stop: () => {
      clearInterval(timer);
      native?.close();
    },
  };
}
