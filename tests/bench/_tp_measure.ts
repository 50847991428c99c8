/**
 * Measurements of `bench:throughput` on one farm: runs the load generator (_tp_load.ts)
 * inside the client namespace against a target, watching the CPU of every backend and
 * agent; and starts an extra backend without CPU cost, for the filter-overhead run.
 */
import type { LabHost, NetnsLab } from "../../agent/lab/netns_lab.ts";
import type { LoadResult } from "./_tp_load.ts";

const LOAD = new URL("./_tp_load.ts", import.meta.url).pathname;
const BACKEND = new URL("../../agent/lab/web_backend.ts", import.meta.url).pathname;

export interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

/** One load run against `target` ("ADDRESS:PORT") from the farm's first client. */
export async function measure(
  lab: NetnsLab,
  target: string,
  o: LoadOptions,
): Promise<LoadResult> {
  const watch = lab.hosts.flatMap((h) => [
    ...(h.backend ? [`${h.name}_backend:${h.backend.pid}`] : []),
    ...(h.agent ? [`${h.name}_agent:${h.agent.pid}`] : []),
  ]);
  const timeoutMs = 2000;
  const proc = lab.runScript(lab.clients[0], LOAD, [
    ...["--target", target, "--concurrency", String(o.concurrency)],
    ...["--warmup-ms", String(o.warmupMs), "--duration-ms", String(o.durationMs)],
    ...["--timeout-ms", String(timeoutMs), "--watch", watch.join(",")],
  ], { stdout: "piped", stderr: "piped" });
  // It ends by itself after warm-up + window + one timeout; past that (plus start-up), kill it.
  const limit = setTimeout(() => {
    try {
      proc.kill("SIGKILL");
    } catch { /* gone */ }
  }, o.warmupMs + o.durationMs + timeoutMs + 20_000);
  const [out, err, status] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.status,
  ]);
  clearTimeout(limit);
  if (!status.success) {
    throw new Error(`load generator on ${target} failed (exit ${status.code}): ${err.trim()}`);
  }
  return JSON.parse(out.trim().split("\n").at(-1) ?? "") as LoadResult;
}

/** A backend on h with no CPU cost on `port`, answering with h's name; stopped by destroy(). */
export async function startLightBackend(lab: NetnsLab, h: LabHost, port: number): Promise<void> {
  const proc = lab.runScript(h, BACKEND, [
    ...["--name", h.name, "--port", String(port), "--cpu-ms", "0"],
  ], { stdout: "piped", stderr: "null" });
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const timer = setTimeout(() => reader.cancel(), 10_000);
  let seen = "";
  while (!seen.includes("listening")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${h.name}: the extra backend on :${port} did not start`);
    seen += value;
  }
  clearTimeout(timer);
  // Keep draining its stdout (it prints nothing more), so it never blocks on a full pipe.
  (async () => {
    while (!(await reader.read().catch(() => ({ done: true }))).done) { /* drain */ }
  })();
}
