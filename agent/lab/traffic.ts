/**
 * Client traffic for the namespace lab: a separate Deno process inside a client namespace
 * that opens a NEW TCP connection every `rateMs` (so the kernel picks a new source port each
 * time), sends `GET / HTTP/1.0`, reads the reply until the server closes, and prints one
 * JSON line per request: `{seq, t, ok, host | error, ms}` (see outage.ts). The first line is
 * `{"start": <wall-clock ms of t=0>}`.
 *
 *   deno run -A agent/lab/traffic.ts --target 198.18.0.10:80 [--rate-ms 10]
 *     [--count 100000] [--duration-ms 60000] [--timeout-ms 1000]
 *
 * Bounded in count AND in time: it stops at whichever comes first (or on SIGTERM/SIGINT),
 * then waits for the requests in flight (each ends within --timeout-ms) and exits. It also
 * stops as soon as its stdout is gone, so it never outlives the test that reads it.
 */
import type { TrafficResult } from "./outage.ts";
import type { LabNode, NetnsLab } from "./netns_lab.ts";
import { lines } from "./text_lines.ts";

export type { TrafficResult } from "./outage.ts";

export interface TrafficOptions {
  /** "ADDRESS:PORT" to connect to; default the cluster IP, "198.18.0.10:80". */
  target: string;
  /** A new request starts every rateMs, whether or not earlier ones finished (default 10). */
  rateMs: number;
  /** At most this many requests (default 100_000). */
  count: number;
  /** For at most this long (default 60_000 ms). */
  durationMs: number;
  /** Per request: connect, send and read the whole reply within this (default 1000 ms). */
  timeoutMs: number;
  /** "varied": a new connection, and so a new ephemeral source port, per request. */
  sourcePorts: "varied";
}

export const TRAFFIC_DEFAULTS: TrafficOptions = {
  target: "198.18.0.10:80",
  rateMs: 10,
  count: 100_000,
  durationMs: 60_000,
  timeoutMs: 1000,
  sourcePorts: "varied",
};

const FLAGS: Record<string, keyof TrafficOptions> = {
  "--target": "target",
  "--rate-ms": "rateMs",
  "--count": "count",
  "--duration-ms": "durationMs",
  "--timeout-ms": "timeoutMs",
  "--source-ports": "sourcePorts",
};

/** Parses the command line over the defaults; throws with what is wrong. */
export function parseTrafficArgs(args: string[]): TrafficOptions {
  const o: TrafficOptions = { ...TRAFFIC_DEFAULTS };
  for (let i = 0; i < args.length; i += 2) {
    const key = FLAGS[args[i]];
    const value = args[i + 1];
    if (!key) {
      throw new Error(`traffic: unknown option ${args[i]} (${Object.keys(FLAGS).join(", ")})`);
    }
    if (value === undefined) throw new Error(`traffic: ${args[i]} needs a value`);
    if (key === "target") {
      splitTarget(value);
      o.target = value;
    } else if (key === "sourcePorts") {
      if (value !== "varied") throw new Error(`traffic: --source-ports must be "varied"`);
    } else {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 10_000_000) {
        throw new Error(`traffic: ${args[i]} must be a positive integer, got "${value}"`);
      }
      o[key] = n;
    }
  }
  return o;
}

/** The command line that reproduces `o` (the inverse of parseTrafficArgs). */
export function trafficArgs(o: TrafficOptions): string[] {
  return Object.entries(FLAGS).flatMap(([flag, key]) => [flag, String(o[key])]);
}

export function splitTarget(target: string): { hostname: string; port: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(target);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65_535) {
    throw new Error(`traffic: target "${target}" is not ADDRESS:PORT, e.g. 198.18.0.10:80`);
  }
  return { hostname: m[1], port: Number(m[2]) };
}

/** What an HTTP reply says: who answered, or why it does not count. */
export function parseReply(
  text: string,
): { ok: true; host: string } | { ok: false; error: string } {
  if (text === "") return { ok: false, error: "closed without a reply" };
  if (!/^HTTP\/1\.[01] 200 /.test(text)) {
    return { ok: false, error: `bad status: ${text.split("\r\n")[0].slice(0, 40)}` };
  }
  const at = text.indexOf("\r\n\r\n");
  const host = at < 0 ? "" : text.slice(at + 4).trim();
  return host ? { ok: true, host } : { ok: false, error: "empty body" };
}

/** A short, stable name for a failure. */
export function errorName(e: unknown): string {
  if (e instanceof Deno.errors.ConnectionRefused) return "refused";
  if (e instanceof Deno.errors.ConnectionReset) return "reset";
  if (e instanceof Deno.errors.TimedOut) return "timeout";
  const msg = (e as Error)?.message ?? String(e);
  if (/no route|unreachable/i.test(msg)) return "unreachable";
  return ((e as Error)?.name ?? "error") + ": " + msg.slice(0, 60);
}

const REQUEST = new TextEncoder().encode("GET / HTTP/1.0\r\nHost: x\r\n\r\n");
const MAX_REPLY = 65_536;

/** One request on a new connection, all of it within timeoutMs. */
export async function request(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<{ ok: true; host: string } | { ok: false; error: string }> {
  const abort = new AbortController();
  let conn: Deno.TcpConn | undefined;
  const close = () => {
    try {
      conn?.close();
    } catch { /* already closed */ }
  };
  const timer = setTimeout(() => {
    abort.abort();
    close();
  }, timeoutMs);
  try {
    conn = await Deno.connect({ hostname, port, signal: abort.signal });
    for (let off = 0; off < REQUEST.length;) off += await conn.write(REQUEST.subarray(off));
    const buf = new Uint8Array(4096);
    let text = "";
    const dec = new TextDecoder();
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      text += dec.decode(buf.subarray(0, n), { stream: true });
      if (text.length > MAX_REPLY) return { ok: false, error: "reply too long" };
    }
    return parseReply(text);
  } catch (e) {
    return { ok: false, error: abort.signal.aborted ? "timeout" : errorName(e) };
  } finally {
    clearTimeout(timer);
    close();
  }
}

/**
 * Runs the traffic: emits one result per request (as it finishes) until count, duration or
 * `stop` ends it, then waits for the requests in flight. At most ceil(timeout/rate)+1 are
 * in flight; when that many are, the next start waits.
 */
export async function generate(
  o: TrafficOptions,
  emit: (r: TrafficResult) => void,
  stop: AbortSignal,
): Promise<void> {
  const { hostname, port } = splitTarget(o.target);
  const maxInFlight = Math.min(1000, Math.ceil(o.timeoutMs / o.rateMs) + 1);
  const inFlight = new Set<Promise<void>>();
  const start = performance.now();
  let next = start;
  for (let seq = 0; seq < o.count && !stop.aborted; seq++) {
    if (performance.now() - start >= o.durationMs) break;
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const t0 = performance.now();
    const p = request(hostname, port, o.timeoutMs).then((r) => {
      const ms = Math.round(performance.now() - t0);
      emit({ seq, t: Math.round(t0 - start), ...r, ms });
    });
    inFlight.add(p);
    p.finally(() => inFlight.delete(p));
    // A steady schedule; after a stall, carry on from now rather than burst to catch up.
    next = Math.max(next + o.rateMs, performance.now());
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait, stop);
  }
  await Promise.all(inFlight);
}

function sleep(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    stop.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      stop.removeEventListener("abort", done);
      resolve();
    }
  });
}

export async function main(args: string[]): Promise<number> {
  let o: TrafficOptions;
  try {
    o = parseTrafficArgs(args);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGTERM", onSignal);
  Deno.addSignalListener("SIGINT", onSignal);
  const enc = new TextEncoder();
  const print = (v: unknown) => {
    try {
      const bytes = enc.encode(JSON.stringify(v) + "\n");
      for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
    } catch {
      stop.abort(); // nobody is reading any more
    }
  };
  print({ start: Date.now() });
  await generate(o, print, stop.signal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  Deno.removeSignalListener("SIGINT", onSignal);
  return 0;
}

/** A running generator, seen from the process that started it. */
export interface TrafficHandle {
  readonly pid: number;
  /** Every result so far, in the order they arrived. */
  readonly results: TrafficResult[];
  /** Wall-clock ms of the generator's t = 0: resolves once it runs. */
  readonly started: Promise<number>;
  /** Every result, once the generator has exited; rejects if it failed. */
  readonly done: Promise<TrafficResult[]>;
  /** Stops it (SIGTERM: no new requests; those in flight finish) and returns every result. */
  stop(): Promise<TrafficResult[]>;
}

const SCRIPT = new URL("./traffic.ts", import.meta.url).pathname;

/** Starts the generator inside `client`'s namespace. */
export function startTraffic(
  lab: NetnsLab,
  client: LabNode,
  opts: Partial<TrafficOptions> & { onResult?: (r: TrafficResult) => void } = {},
): TrafficHandle {
  const { onResult, ...rest } = opts;
  const o = parseTrafficArgs(trafficArgs({ ...TRAFFIC_DEFAULTS, ...rest }));
  const proc = lab.runScript(client, SCRIPT, trafficArgs(o), { stdout: "piped", stderr: "piped" });
  const results: TrafficResult[] = [];
  let markStarted: (t: number) => void = () => {};
  let failStarted: (e: Error) => void = () => {};
  const started = new Promise<number>((res, rej) => [markStarted, failStarted] = [res, rej]);
  started.catch(() => {});
  const kill = (signal: Deno.Signal) => {
    try {
      proc.kill(signal);
    } catch { /* already gone */ }
  };
  // The generator ends by itself within its duration; past that (plus startup), kill it.
  const hardStop = setTimeout(() => kill("SIGKILL"), o.durationMs + o.timeoutMs + 20_000);

  const done = (async () => {
    const stderr = new Response(proc.stderr).text();
    for await (const line of lines(proc.stdout)) {
      let v: TrafficResult & { start?: number };
      try {
        v = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof v.start === "number") {
        markStarted(v.start);
        continue;
      }
      results.push(v);
      onResult?.(v);
    }
    const status = await proc.status;
    clearTimeout(hardStop);
    const err = await stderr;
    failStarted(new Error(`traffic in ${client.ns} ended before it started: ${err.trim()}`));
    if (!status.success && status.signal === null) {
      throw new Error(`traffic in ${client.ns} failed (exit ${status.code}): ${err.trim()}`);
    }
    return results;
  })();
  done.catch(() => {});

  return {
    pid: proc.pid,
    results,
    started,
    done,
    async stop() {
      kill("SIGTERM");
      const t = setTimeout(() => kill("SIGKILL"), o.timeoutMs + 3000);
      try {
        return await done;
      } finally {
        clearTimeout(t);
      }
    },
  };
}

if (import.meta.main) Deno.exit(await main(Deno.args));
