/**
 * The load generator of `bench:throughput`, run inside a client namespace: K workers each
 * keep one request going, every request on a NEW TCP connection (so each one is a new
 * flow for the bucket filter: its own source port, its own SYN), for a warm-up and then a
 * measured window; prints one JSON line (a LoadResult).
 *
 *   deno run -A _tp_load.ts --target 198.18.0.10:80 [--concurrency 24] [--warmup-ms 1000]
 *     [--duration-ms 5000] [--timeout-ms 2000] [--watch NAME:PID,…]
 *
 * Closed loop (a worker starts its next request when the last one ends), unlike traffic.ts's
 * fixed rate: the rate found is what the cluster sustains. Bounded in time: workers start
 * nothing after the window and every request ends within --timeout-ms. CPU time of this
 * process, of each --watch process and of the whole machine (/proc/stat) is counted over the
 * window, so the report can tell whether the backends or the client were the bottleneck.
 */
import { request, splitTarget } from "../../agent/lab/traffic.ts";
import { quantile, round } from "./_stats.ts";
import { cpuSeconds } from "./_proc_cpu.ts";

export interface LoadResult {
  target: string;
  concurrency: number;
  seconds: number;
  requests: number;
  failed: number;
  errors: Record<string, number>;
  rps: number;
  latencyMs: { p50: number; p99: number; max: number };
  served: Record<string, number>;
  /** CPU used over the window, in cores (1 = one core busy the whole window). */
  cpu: { client: number; watched: Record<string, number>; machine: number };
}

interface Options {
  target: string;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  timeoutMs: number;
  watch: [string, number][];
}

function parse(args: string[]): Options {
  const o: Options = {
    target: "",
    concurrency: 24,
    warmupMs: 1000,
    durationMs: 5000,
    timeoutMs: 2000,
    watch: [],
  };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, v] = [args[i], args[i + 1] ?? ""];
    const num = (lo: number, hi: number) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < lo || n > hi) throw new Error(`${flag}: ${lo}..${hi}`);
      return n;
    };
    if (flag === "--target") o.target = v;
    else if (flag === "--concurrency") o.concurrency = num(1, 1000);
    else if (flag === "--warmup-ms") o.warmupMs = num(0, 60_000);
    else if (flag === "--duration-ms") o.durationMs = num(100, 600_000);
    else if (flag === "--timeout-ms") o.timeoutMs = num(10, 60_000);
    else if (flag === "--watch") {
      o.watch = v.split(",").filter(Boolean).map((x) => {
        const [name, pid] = x.split(":");
        if (!name || !/^\d+$/.test(pid ?? "")) throw new Error(`--watch: NAME:PID, got "${x}"`);
        return [name, Number(pid)];
      });
    } else throw new Error(`unknown option ${flag}`);
  }
  splitTarget(o.target);
  return o;
}

/** utime + stime of a process in clock ticks (100 per second), or NaN once it is gone. */
function procTicks(pid: number | "self"): number {
  const s = cpuSeconds(pid);
  return s === null ? NaN : Math.round(s * 100);
}

/** Busy and total clock ticks of all CPUs, from the first line of /proc/stat. */
export function machineTicks(): { busy: number; total: number } {
  // user nice system idle iowait irq softirq steal (guest time is already in user)
  const f = Deno.readTextFileSync("/proc/stat").split("\n")[0].trim().split(/\s+/).slice(1, 9)
    .map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - (f[4] ?? 0), total }; // idle and iowait are not busy
}

function cpuSnapshot(o: Options) {
  return {
    at: performance.now(),
    self: procTicks("self"),
    watched: o.watch.map(([, pid]) => procTicks(pid)),
    machine: machineTicks(),
  };
}

async function main(args: string[]): Promise<LoadResult> {
  const o = parse(args);
  const { hostname, port } = splitTarget(o.target);
  const warmEnd = performance.now() + o.warmupMs;
  const end = warmEnd + o.durationMs;
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const served: Record<string, number> = {};
  let failed = 0;
  let first: ReturnType<typeof cpuSnapshot> | undefined;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const r = await request(hostname, port, o.timeoutMs);
      const t1 = performance.now();
      if (t0 < warmEnd || t1 > end) continue; // only requests wholly inside the window
      if (r.ok) {
        latencies.push(t1 - t0);
        served[r.host] = (served[r.host] ?? 0) + 1;
      } else {
        failed++;
        errors[r.error] = (errors[r.error] ?? 0) + 1;
      }
    }
  };
  const snap = setTimeout(() => first = cpuSnapshot(o), o.warmupMs);
  const last = new Promise<ReturnType<typeof cpuSnapshot>>((res) =>
    setTimeout(() => res(cpuSnapshot(o)), end - performance.now())
  );
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  clearTimeout(snap);
  const a = first ?? cpuSnapshot(o), b = await last;
  const cores = (ticks: number) => round(ticks / 100 / ((b.at - a.at) / 1000), 2);
  const sorted = latencies.sort((x, y) => x - y);
  const machine = (b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total);
  return {
    target: o.target,
    concurrency: o.concurrency,
    seconds: o.durationMs / 1000,
    requests: sorted.length,
    failed,
    errors,
    rps: round(sorted.length / (o.durationMs / 1000), 1),
    latencyMs: {
      p50: round(quantile(sorted, 0.5) ?? NaN, 2),
      p99: round(quantile(sorted, 0.99) ?? NaN, 2),
      max: round(sorted.at(-1) ?? NaN, 2),
    },
    served,
    cpu: {
      client: cores(b.self - a.self),
      watched: Object.fromEntries(o.watch.map(([name], i) => [
        name,
        cores(b.watched[i] - a.watched[i]),
      ])),
      machine: round(machine * navigator.hardwareConcurrency, 2),
    },
  };
}

if (import.meta.main) {
  try {
    console.log(JSON.stringify(await main(Deno.args)));
  } catch (e) {
    console.error(`_tp_load: ${(e as Error).message}`);
    Deno.exit(2);
  }
}
