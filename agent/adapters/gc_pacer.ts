/**
 * Keeps the agent's garbage bounded: a full garbage collection whenever the JS heap and the
 * memory held by ArrayBuffers grew by `budgetBytes` since the last one, or by the smaller
 * `tightBudgetBytes` while the process's RSS is past `rssCeilingBytes`.
 *
 * The two budgets trade CPU for memory where it matters. A collection costs about 1-2 ms
 * per MB alive whatever the garbage, so a bulk sync (500 MB through short-lived buffers,
 * little alive) is cheapest with a large budget: 32-35 collections per importer in
 * bench:replication's initial case, against 43-47 with one budget of 24 MiB. A 100k-file
 * tree keeps 55 MB alive and sits near its RSS ceiling, where the tight budget holds the
 * peak under 200 MB (168-180 MB measured).
 *
 * Replication moves hundreds of MB through short-lived buffers (chunks read, framed,
 * received, hashed, written). V8 sizes its heap by the memory the machine has, so on a
 * big machine it let the garbage pile up: after the first sync of a 100k-file tree an
 * importer held 160 MB of dead heap and 170 MB of dead buffers, while what was alive was
 * some 31 MB (heap snapshot), and its RSS peaked near 500 MB. A full collection pauses the
 * agent for about 1-2 ms per MB alive (~50 ms measured during a 10k-file sync, ~100 ms at
 * 100k files), under the peers' suspicion time (3 heartbeats); at most one runs per
 * `everyMs` check.
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
import { ffiAllowed, libc } from "../dataplane/libc.ts";

export interface GcPacerOptions {
  /** Growth of heapUsed + external since the last collection that triggers one. Default 64 MiB. */
  budgetBytes?: number;
  /** The budget while RSS is past rssCeilingBytes. Default 16 MiB. */
  tightBudgetBytes?: number;
  /** RSS past which the tight budget applies. Default 150 MiB. */
  rssCeilingBytes?: number;
  /**
   * How often the growth is checked, ms. Default 25: a check is one Deno.memoryUsage()
   * (µs), and a sync can allocate some 15 MB in 100 ms (bench:replication's VmHWM showed
   * peaks that 100 ms samples missed).
   */
  everyMs?: number;
  /** Memory figures (default Deno.memoryUsage) and the collector (default V8's), for tests. */
  usage?: () => { heapUsed: number; external: number; rss: number };
  collect?: () => void;
  /** Returns freed native memory to the system (default glibc's malloc_trim(0), if any). */
  trim?: () => void;
  /**
   * Called just before each collection (a heartbeat goes out: at 100k files a collection
   * pauses an agent for 125-270 ms on this VM, and peers declare a host down after 250 ms
   * of silence).
   */
  beforeCollect?: () => void;
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

/** glibc's malloc_trim(0) through FFI (agent/dataplane/libc.ts), or undefined without FFI. */
export function mallocTrim(): (() => void) | undefined {
  if (!ffiAllowed()) return undefined;
  try {
    const c = libc();
    return () => void c.malloc_trim(0n);
  } catch {
    return undefined;
  }
}

export function startGcPacer(o: GcPacerOptions = {}): GcPacer {
  const collect = o.collect ?? v8Collector();
  const usage = o.usage ?? (() => Deno.memoryUsage());
  const trim = o.trim ?? (collect ? mallocTrim() : undefined);
  const loose = o.budgetBytes ?? 64 << 20, tight = o.tightBudgetBytes ?? 16 << 20;
  const ceiling = o.rssCeilingBytes ?? 150 << 20;
  const held = (u: { heapUsed: number; external: number }) => u.heapUsed + u.external;
  let base = held(usage()), collections = 0, spentMs = 0;
  const timer = collect
    ? setInterval(() => {
      const u = usage(), now = held(u);
      const budget = u.rss > ceiling ? Math.min(tight, loose) : loose;
      if (now - base < budget) {
        base = Math.min(base, now);
        return;
      }
      o.beforeCollect?.();
      const t0 = performance.now();
      collect();
      trim?.();
      spentMs += performance.now() - t0;
      collections++;
      base = held(usage());
    }, o.everyMs ?? 25)
    : undefined;
  return {
    get collections() {
      return collections;
    },
    get spentMs() {
      return Math.round(spentMs);
    },
    stop: () => clearInterval(timer),
  };
}
