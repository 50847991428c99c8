/**
 * `deno task bench:web`: the admin panel as an admin's browser and a load generator see
 * it, on a real 3-host loopback cluster with the panel on h1. Prints one JSON object on
 * stdout; progress goes to stderr.
 *
 *   first_load  cold Chromium: bytes received (gzip, as on the wire) and navigation start
 *               → login form / overview rendered; the sign-in itself     (≤ 300 KB, ≤ 1 s)
 *   sse         a host's state changed through its control socket → the page's DOM shows
 *               it, over /api/stream                                    (≤ 200 ms)
 *   api         GET /api/status req/s and latency from another process, with h1's
 *               heartbeat age at h2 and timer lateness, idle vs loaded  (≥ 1000 req/s,
 *                                                                       no timer late > 1 period)
 * Needs /usr/bin/chromium (apt-get install -y chromium).
 */
import { LoopbackCluster } from "../../agent/lab/loopback_cluster.ts";
import { CHROMIUM, freePort, hasChromium, waitHttp } from "../e2e/browser.ts";
import { APPLIANCE, subnet, waitAllConverged } from "./_lab.ts";
import { progress, round, summarize } from "./_stats.ts";
import { coldLoad, type LoadSample } from "./_web_page_load.ts";
import { measureSse, type SseResult } from "./_web_sse.ts";
import { type ApiLoadResult, measureApiLoad, type Window } from "./_web_api_load.ts";
import { benchHeader, benchOptions } from "./_cli.ts";

const HELP = `Usage: deno task bench:web [--quick]

Builds a 3-host cluster on loopback addresses with the admin panel on h1, then measures
in Chromium the first page load (bytes and time to the login form and to the overview,
median of 5 cold loads), the live-update latency of 10 state changes over the SSE
stream, and GET /api/status throughput from 16 concurrent keep-alive clients for 10 s
with h1's heartbeat jitter idle and under that load. One JSON object on stdout, progress
on stderr. About 1.5 minutes.

Options:
  --quick   a smoke run: 2 loads, 4 changes, 3 s windows
  --help    this text`;

const TARGETS = { firstLoadBytes: 300_000, readyMs: 1000, sseMs: 200, rps: 1000 };
const STEP_TIMEOUT_MS = 15_000;

interface Options {
  loads: number;
  changes: number;
  seconds: number;
  quick: boolean;
}

function parse(args: string[]): Options | undefined {
  let quick = false;
  for (const a of args) {
    if (a === "--help" || a === "-h") return undefined;
    if (a === "--quick") quick = true;
    else throw new Error(`unknown option "${a}" (see: --help)`);
  }
  return quick
    ? { loads: 2, changes: 4, seconds: 3, quick }
    : { loads: 5, changes: 10, seconds: 10, quick };
}

/** Runs one phase within `ms`; a failure is reported in the JSON, and the others still run. */
async function phase<T>(
  name: string,
  ms: number,
  fn: () => Promise<T>,
): Promise<T | { error: string }> {
  progress(`${name}...`);
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const r = await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${name} took over ${ms / 1000} s`)), ms);
      }),
    ]);
    progress(`${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return r;
  } catch (e) {
    progress(`${name} failed: ${(e as Error).stack ?? e}`);
    return { error: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Logs in as the panel does; the session cookie's name and value. */
async function signIn(url: string, password: string): Promise<{ name: string; value: string }> {
  const res = await fetch(`${url}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ password }),
    signal: AbortSignal.timeout(5000),
  });
  await res.body?.cancel();
  const cookie = res.headers.getSetCookie()[0]?.split(";")[0];
  if (!res.ok || !cookie) throw new Error(`login to ${url} failed: HTTP ${res.status}`);
  const eq = cookie.indexOf("=");
  return { name: cookie.slice(0, eq), value: cookie.slice(eq + 1) };
}

async function chromiumVersion(): Promise<string> {
  try {
    const out = await new Deno.Command(CHROMIUM, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(10_000),
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch (e) {
    return `unknown (${(e as Error).message})`;
  }
}

async function main(args: string[]): Promise<number> {
  const o = benchOptions("bench:web", args, parse, HELP);
  if (typeof o === "number") return o;
  if (!(await hasChromium())) {
    console.error(`bench:web: ${CHROMIUM} is missing: install it with apt-get install -y chromium`);
    return 2;
  }
  const started = performance.now();
  const head = { ...await benchHeader("web", o.quick), chromium: await chromiumVersion() };
  const baseDir = await Deno.makeTempDir({ prefix: "appliance-bench-web-" });
  const password = `bench-${crypto.randomUUID()}`;
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  let lab: LoopbackCluster | undefined;
  try {
    progress(`starting 3 agents, the panel on ${url}`);
    lab = await LoopbackCluster.create({
      hosts: 3,
      subnet: subnet(197),
      baseDir,
      command: APPLIANCE,
      adminPassword: password,
      panel: (h) => (h.name === "h1" ? `127.0.0.1:${port}` : "off"),
    });
    await waitAllConverged(lab, lab.hosts, 15_000);
    await waitHttp(`${url}/api/session`, 10_000);
    const cluster = lab;

    const loads = await phase("first_load", 120_000, async () => {
      const login: LoadSample[] = [], overview: LoadSample[] = [];
      for (let i = 0; i < o.loads; i++) {
        login.push(await coldLoad({ url, hosts: 3, password, timeoutMs: STEP_TIMEOUT_MS }));
        const cookie = await signIn(url, password);
        overview.push(await coldLoad({ url, hosts: 3, cookie, timeoutMs: STEP_TIMEOUT_MS }));
        progress(
          `load ${i + 1}/${o.loads}: login form ${login[i].readyMs.toFixed(0)} ms, ${
            login[i].bytes
          } B; overview ${overview[i].readyMs.toFixed(0)} ms, ${overview[i].bytes} B`,
        );
      }
      return { login, overview };
    });
    const sse = await phase("sse", 120_000, async () =>
      measureSse({
        lab: cluster,
        url,
        cookie: await signIn(url, password),
        target: cluster.hosts[2],
        changes: o.changes,
        timeoutMs: STEP_TIMEOUT_MS,
      }));
    const api = await phase("api", (2 * o.seconds + 60) * 1000, async () => {
      const c = await signIn(url, password);
      return measureApiLoad({
        lab: cluster,
        url,
        cookie: `${c.name}=${c.value}`,
        concurrency: 16,
        seconds: o.seconds,
      });
    });

    const out = {
      ...head,
      first_load: "error" in loads ? loads : firstLoadJson(loads.login, loads.overview),
      sse: "error" in sse ? sse : sseJson(sse),
      api: "error" in api ? api : apiJson(api),
      targets: targets(loads, sse, api),
      elapsed_s: round((performance.now() - started) / 1000, 1),
    };
    console.log(JSON.stringify(out, null, 2));
    return [loads, sse, api].some((r) => "error" in r) ? 1 : 0;
  } finally {
    await lab?.cleanup();
    await Deno.remove(baseDir, { recursive: true }).catch(() => {});
  }
}

const med = (xs: number[], digits = 0) => summarize(xs, digits).median;

function pageJson(s: LoadSample[]) {
  return {
    bytes: summarize(s.map((x) => x.bytes), 0),
    bytes_resource_timing_median: med(s.map((x) => x.resourceTimingBytes)),
    open_stream_bytes_median: med(s.map((x) => x.openStreamBytes)),
    ready_ms: summarize(s.map((x) => x.readyMs), 0),
    fcp_ms_median: med(s.flatMap((x) => x.fcpMs === null ? [] : [x.fcpMs])),
    dom_content_loaded_ms_median: med(s.map((x) => x.domContentLoadedMs)),
    load_event_ms_median: med(s.map((x) => x.loadEventMs)),
    resources_first_run: s[0]?.resources,
  };
}

function firstLoadJson(login: LoadSample[], overview: LoadSample[]) {
  return {
    loads: login.length,
    login_page: pageJson(login),
    overview_page_with_session: pageJson(overview),
    sign_in_ms: summarize(login.map((x) => x.signInMs ?? NaN), 0),
  };
}

function sseJson(r: SseResult) {
  return {
    changes: r.samples.length,
    dom_ms: summarize(r.samples.map((s) => s.domMs), 1),
    next_frame_ms: summarize(r.samples.map((s) => s.frameMs), 1),
    command_ms_median: med(r.samples.map((s) => s.commandMs), 1),
    seen: r.samples.map((s) => `${s.command} → ${s.state}`),
    clock_offset_ms: round(r.clockOffsetMs, 2),
  };
}

function windowJson(w: Window) {
  return {
    seconds: w.seconds,
    heartbeat_age_ms: w.heartbeatAgeMs,
    worst_age_over_period_ms: w.worstLateMs,
    status_polls: w.statusPolls,
    status_errors: w.statusErrors,
    timers: w.timers,
    timers_late_over_period: w.timersLateOverPeriod,
    worst_timer_late_ms_lifetime_before: w.worstTimerLateMsBefore,
    worst_timer_late_ms_lifetime_after: w.worstTimerLateMsAfter,
    h1_cores: w.h1Cores,
    h1_run_queue_wait_ms: w.h1RunQueueWaitMs,
  };
}

function apiJson(r: ApiLoadResult) {
  const g = r.load.generator;
  return {
    endpoint: "GET /api/status",
    concurrency: g.concurrency,
    seconds: g.seconds,
    requests: g.requests,
    rps: g.rps,
    latency_ms: g.latencyMs,
    errors: g.errors,
    bytes_per_response: g.bytesPerResponse,
    generator_cores: r.load.generatorCores,
    heartbeat_period_ms: r.heartbeatPeriodMs,
    h1_heartbeat_at_h2: { idle: windowJson(r.idle), under_load: windowJson(r.load) },
  };
}

type Phase<T> = T | { error: string };

function targets(
  loads: Phase<{ login: LoadSample[]; overview: LoadSample[] }>,
  sse: Phase<SseResult>,
  api: Phase<ApiLoadResult>,
) {
  const check = (value: number | null, target: number, le: boolean) => ({
    value,
    target,
    met: value !== null && (le ? value <= target : value >= target),
  });
  const ok = <T>(p: Phase<T>): p is T => !("error" in (p as object));
  return {
    first_load_bytes_median_le: ok(loads)
      ? check(med(loads.login.map((x) => x.bytes)), TARGETS.firstLoadBytes, true)
      : null,
    login_form_ms_median_le: ok(loads)
      ? check(med(loads.login.map((x) => x.readyMs)), TARGETS.readyMs, true)
      : null,
    overview_ms_median_le: ok(loads)
      ? check(med(loads.overview.map((x) => x.readyMs)), TARGETS.readyMs, true)
      : null,
    sse_dom_ms_max_le: ok(sse)
      ? check(summarize(sse.samples.map((s) => s.domMs), 1).max, TARGETS.sseMs, true)
      : null,
    api_rps_ge: ok(api) ? check(api.load.generator.rps, TARGETS.rps, false) : null,
    timers_late_over_period_under_load: ok(api)
      ? check(api.load.timersLateOverPeriod, 0, true)
      : null,
  };
}

if (import.meta.main) Deno.exit(await main(Deno.args));
