/**
 * Shared pieces of the dataplane integration tests (tests/integration/dataplane_*_test.ts):
 * a namespace lab that is always destroyed, cluster edits that wait until every live host
 * runs them, bounded bursts of client requests, extra backends, and a slow download.
 *
 * Also a script, run inside the lab's namespaces (so the tests need no curl):
 *
 *   deno run -A _lab_helpers.ts slow-backend --name h1 --port 8081 --bytes N --ms T
 *       answers every request with N bytes of payload(N), written in 30 slices over T ms;
 *       the header X-Served-By names the host. Prints "listening …" once bound.
 *   deno run -A _lab_helpers.ts download --target 198.18.0.10:8081 [--timeout-ms 30000]
 *       one GET; prints {"event":"head","host":…} once the head is in, then
 *       {"event":"done","bytes":…,"sha256":…} or {"event":"error","error":…,"bytes":…}.
 */
import { createHash } from "node:crypto";
import { NetnsLab, type NetnsLabOptions } from "../../agent/lab/netns_lab.ts";
import type { LabHost, LabNode } from "../../agent/lab/netns_lab.ts";
import { startTraffic, type TrafficResult } from "../../agent/lab/traffic.ts";
import type { ClusterStatus } from "../../agent/cluster/status.ts";
import { clusterMac } from "../../agent/dataplane/cluster_mac.ts";

import { summarize } from "../../agent/lab/outage.ts";
import { allCounters, counterGains } from "../../agent/lab/nft_counters.ts";
import { lines } from "../../agent/lab/text_lines.ts";
import { randomBytes } from "../_fakes/random_bytes.ts";

export { hostCounts, summarize } from "../../agent/lab/outage.ts";
export type { TrafficResult } from "../../agent/lab/traffic.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SELF = new URL(import.meta.url).pathname;
const WEB_BACKEND = `${ROOT}agent/lab/web_backend.ts`;
/** How the lab runs appliance: this deno on the repo's main.ts. */
export const COMMAND = [Deno.execPath(), "run", "-A", `${ROOT}main.ts`];
/** The tests build namespaces, veth pairs and nftables tables: root only. */
export const NOT_ROOT = Deno.uid() !== 0;

/** Builds a lab, runs `fn`, and destroys the lab (every namespace and process) whatever happens. */
export async function withLab(
  o: Omit<NetnsLabOptions, "command" | "baseDir">,
  fn: (lab: NetnsLab) => Promise<void>,
): Promise<void> {
  const baseDir = await Deno.makeTempDir({ prefix: "appliance-dp-" });
  const lab = await NetnsLab.create({ command: COMMAND, baseDir, ...o });
  try {
    await lab.waitConverged(20_000);
    await fn(lab);
  } finally {
    await lab.destroy();
  }
}

/** Hosts with a running, unpaused agent and their link up. */
export function liveHosts(lab: NetnsLab): LabHost[] {
  return lab.hosts.filter((h) => h.agent && !h.paused && h.linkUp);
}

/** `appliance ARGS --state-dir <h's>` on host `on` (default h1). */
export function cli(lab: NetnsLab, args: string[], on: LabHost = lab.hosts[0]): Promise<string> {
  return lab.cli(on, [...args, "--state-dir", on.stateDir]);
}

/**
 * A config edit (`rules …` or `config set …`) made on h1; returns once every live host
 * runs the new version and the cluster has converged on it.
 */
export async function editCluster(lab: NetnsLab, args: string[]): Promise<number> {
  const out = JSON.parse(await cli(lab, [...args, "--json"])) as { version: number };
  for (const h of liveHosts(lab)) {
    await lab.waitFor(h, (s) => s.configVersion >= out.version, 10_000);
  }
  await lab.waitConverged(15_000);
  return out.version;
}

/** h's row in the status `s` of some host. */
export function seen(s: ClusterStatus, h: LabHost) {
  const x = s.hosts.find((y) => y.name === h.name);
  if (!x) throw new Error(`${h.name} is not in the status of a host: ${JSON.stringify(s)}`);
  return x;
}

/**
 * Waits until every host in `by` has converged on a view in which `h` is draining or
 * stopped and owns no bucket: from then on, new connections cannot reach h.
 */
export async function waitDrainedOut(lab: NetnsLab, h: LabHost, by: LabHost[]): Promise<void> {
  await lab.waitFor(h, (s) => ["draining", "stopped"].includes(seen(s, h).state), 10_000);
  for (const o of by) {
    await lab.waitFor(o, (s) => {
      const x = seen(s, h);
      return s.converged && ["draining", "stopped"].includes(x.state) && x.share === 0;
    }, 10_000);
  }
}

/**
 * Puts the lab back to every host serving: link up, resumed, agent running, admin state
 * active (`appliance start` for a drained or stopped one); then waits for convergence.
 * The clients forget the cluster IP's MAC, so a step that went wrong leaves nothing
 * behind in their ARP caches: they resolve it again from the running agents.
 */
export async function restoreAll(lab: NetnsLab): Promise<void> {
  for (const h of lab.hosts) {
    if (!h.linkUp) await lab.linkUp(h);
    if (h.paused) await lab.kill(h, "SIGCONT");
    if (!h.agent) await lab.start(h);
  }
  for (const h of lab.hosts) {
    const s = await lab.status(h);
    if (seen(s, h).state === "draining" || seen(s, h).state === "stopped") {
      await cli(lab, ["start"], h);
    }
  }
  await lab.waitConverged(20_000);
  for (const c of lab.clients) await lab.exec(c, ["ip", "neigh", "flush", "to", lab.clusterIp]);
}

/**
 * `count` new connections all succeed and every host serves at least half an even share
 * of them (the buckets are even; the hash of source ports is not exact). Afterwards the
 * first client has the cluster IP at the cluster's multicast MAC, resolved while every
 * agent answers ARP.
 */
export async function assertAllServe(lab: NetnsLab, count = 300): Promise<void> {
  const { sum, drops } = await burstWithDrops(lab, count);
  const least = count / lab.hosts.length / 2;
  if (sum.failed !== 0 || lab.hosts.some((h) => (sum.hosts[h.name] ?? 0) < least)) {
    throw new Error(
      `not every host serves its share: ${JSON.stringify(sum)}; ` +
        `nft counters during the burst: ${JSON.stringify(drops)}`,
    );
  }
  const mac = await neighbourMac(lab, lab.clients[0], lab.clusterIp);
  if (mac !== clusterMac(lab.clusterIp)) {
    throw new Error(`the client has ${lab.clusterIp} at ${mac}, not the cluster MAC`);
  }
}

/**
 * burst() summarized, with what each host's nftables counters gained meanwhile: when a
 * request is lost, which host dropped its packets and why (drop_not_owned, drop_invalid…).
 */
export async function burstWithDrops(
  lab: NetnsLab,
  count: number,
): Promise<{ sum: ReturnType<typeof summarize>; drops: Record<string, Record<string, number>> }> {
  const before = await allCounters(lab);
  const sum = summarize(await burst(lab, count));
  return { sum, drops: counterGains(before, await allCounters(lab)) };
}

export interface BurstOptions {
  /** Default the cluster IP, port 80. */
  target?: string;
  /** Default 5 ms between new connections. */
  rateMs?: number;
  /** Per request (default 1000 ms). */
  timeoutMs?: number;
}

/** `count` requests from the first client, each on a new connection; returns every result. */
export function burst(
  lab: NetnsLab,
  count: number,
  o: BurstOptions = {},
): Promise<TrafficResult[]> {
  const rateMs = o.rateMs ?? 5;
  return startTraffic(lab, lab.clients[0], {
    target: o.target ?? `${lab.clusterIp}:80`,
    rateMs,
    count,
    durationMs: count * rateMs + 10_000,
    timeoutMs: o.timeoutMs ?? 1000,
  }).done;
}

/** A process started by startListening(); stop() ends it. */
export interface Listening {
  stop(): Promise<void>;
}

/** Runs `script ARGS` in h's namespace and waits until it prints "listening". */
async function startListening(
  lab: NetnsLab,
  h: LabHost,
  script: string,
  args: string[],
  name: string,
): Promise<Listening> {
  const log = `${h.stateDir}/${name}.log`;
  await Deno.writeTextFile(log, "");
  const proc = lab.runScript(h, script, args, { logFile: log });
  let exited = false;
  proc.status.then(() => exited = true);
  const stop = async () => {
    try {
      proc.kill("SIGKILL");
    } catch { /* already gone */ }
    await proc.status;
  };
  const deadline = Date.now() + 10_000;
  while (!(await Deno.readTextFile(log)).includes("listening")) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`${h.name}: ${name} did not start: ${await Deno.readTextFile(log)}`);
    }
    await sleep(20);
  }
  return { stop };
}

/** The lab's web backend (answers its host name) on another port of every host. */
export async function startBackends(lab: NetnsLab, port: number): Promise<Listening> {
  const started = await Promise.all(
    lab.hosts.map((h) =>
      startListening(lab, h, WEB_BACKEND, ["--name", h.name, "--port", String(port)], `web${port}`)
    ),
  );
  return { stop: async () => void await Promise.all(started.map((s) => s.stop())) };
}

/** slow-backend on `port` of every host. */
export async function startSlowBackends(
  lab: NetnsLab,
  port: number,
  bytes: number,
  ms: number,
): Promise<Listening> {
  const started = await Promise.all(lab.hosts.map((h) =>
    startListening(lab, h, SELF, [
      "slow-backend",
      ...["--name", h.name, "--port", String(port), "--bytes", String(bytes), "--ms", String(ms)],
    ], `slow${port}`)
  ));
  return { stop: async () => void await Promise.all(started.map((s) => s.stop())) };
}

export type DownloadEvent =
  | { event: "head"; host: string }
  | { event: "done"; bytes: number; sha256: string }
  | { event: "error"; error: string; bytes: number };

/** A download running in a client namespace. */
export interface Download {
  /** Resolves with the host named in the reply's head. */
  head: Promise<string>;
  /** Resolves with how it ended, and the wall-clock ms it ended at. */
  end: Promise<{ result: DownloadEvent; at: number }>;
}

/** Starts one download from `client` (bounded by timeoutMs; the lab kills it at worst). */
export function startDownload(
  lab: NetnsLab,
  client: LabNode,
  target: string,
  timeoutMs = 30_000,
): Download {
  const proc = lab.runScript(client, SELF, [
    "download",
    ...["--target", target, "--timeout-ms", String(timeoutMs)],
  ], { stdout: "piped", stderr: "piped" });
  let gotHead: (host: string) => void = () => {};
  let noHead: (e: Error) => void = () => {};
  const head = new Promise<string>((res, rej) => [gotHead, noHead] = [res, rej]);
  head.catch(() => {});
  const end = (async () => {
    const stderr = new Response(proc.stderr).text();
    let result: DownloadEvent | undefined;
    for await (const line of lines(proc.stdout)) {
      const v = JSON.parse(line) as DownloadEvent;
      if (v.event === "head") gotHead(v.host);
      else result = v;
    }
    await proc.status;
    const at = Date.now();
    const err = await stderr;
    noHead(new Error(`the download ended without a head: ${JSON.stringify(result)} ${err}`));
    return {
      result: result ?? { event: "error" as const, error: `no result: ${err}`, bytes: 0 },
      at,
    };
  })();
  return { head, end };
}

/** The neighbour entry's MAC for `ip` in n's namespace (undefined when there is none). */
export async function neighbourMac(
  lab: NetnsLab,
  n: LabNode,
  ip: string,
): Promise<string | undefined> {
  const out = await lab.exec(n, ["ip", "neigh", "show", ip]);
  return /lladdr ([0-9a-f:]{17})/.exec(out)?.[1];
}

/** The MAC of n's eth0. */
export async function macOf(lab: NetnsLab, n: LabNode): Promise<string> {
  const out = await lab.exec(n, ["ip", "-o", "link", "show", "eth0"]);
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(out)?.[1];
  if (!mac) throw new Error(`no MAC on ${n.name}'s eth0: ${out}`);
  return mac;
}

/** Polls `ok` every 50 ms until it holds; throws with `what` after timeoutMs. */
export async function waitUntil(
  what: string,
  ok: () => Promise<boolean> | boolean,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`not reached in ${timeoutMs} ms: ${what}`);
    await sleep(50);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Deterministic bytes (xorshift32), so the test knows the download's checksum. */
export function payload(n: number): Uint8Array {
  return randomBytes(n, 0x9e3779b9);
}

export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

// ---- the script side: run inside a lab namespace ----

function flags(args: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    if (!args[i].startsWith("--") || args[i + 1] === undefined) {
      throw new Error(`_lab_helpers: bad arguments: ${args.join(" ")}`);
    }
    o[args[i].slice(2)] = args[i + 1];
  }
  return o;
}

async function slowBackend(o: Record<string, string>): Promise<void> {
  const bytes = Number(o.bytes), ms = Number(o.ms);
  const body = payload(bytes);
  const head = new TextEncoder().encode(
    `HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bytes}\r\n` +
      `X-Served-By: ${o.name}\r\nConnection: close\r\n\r\n`,
  );
  const listener = Deno.listen({ hostname: "0.0.0.0", port: Number(o.port) });
  const stop = () => listener.close();
  Deno.addSignalListener("SIGTERM", stop);
  console.log(`listening 0.0.0.0:${o.port}`);
  const slices = 30;
  const handle = async (conn: Deno.Conn) => {
    const giveUp = setTimeout(() => conn.close(), ms + 30_000);
    try {
      const buf = new Uint8Array(4096);
      let req = "";
      for (let i = 0; i < 16 && !req.includes("\r\n\r\n"); i++) {
        const n = await conn.read(buf);
        if (n === null) break;
        req += new TextDecoder().decode(buf.subarray(0, n));
      }
      await writeAll(conn, head);
      const step = Math.ceil(bytes / slices);
      for (let off = 0; off < bytes; off += step) {
        await writeAll(conn, body.subarray(off, Math.min(bytes, off + step)));
        if (off + step < bytes) await sleep(ms / slices);
      }
    } catch {
      /* the client went away */
    } finally {
      clearTimeout(giveUp);
      try {
        conn.close();
      } catch { /* closed by the timer */ }
    }
  };
  try {
    for await (const conn of listener) handle(conn);
  } catch { /* closed */ }
}

async function writeAll(conn: Deno.Conn, b: Uint8Array): Promise<void> {
  for (let off = 0; off < b.length;) off += await conn.write(b.subarray(off));
}

async function download(o: Record<string, string>): Promise<void> {
  const [hostname, port] = o.target.split(":");
  const print = (v: DownloadEvent) => console.log(JSON.stringify(v));
  const hash = createHash("sha256");
  let bytes = 0;
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), Number(o["timeout-ms"] ?? 30_000));
  try {
    conn = await Deno.connect({ hostname, port: Number(port) });
    await writeAll(conn, new TextEncoder().encode("GET / HTTP/1.0\r\nHost: x\r\n\r\n"));
    const buf = new Uint8Array(65_536);
    let head: Uint8Array = new Uint8Array(0);
    let inBody = false;
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      let chunk: Uint8Array = buf.subarray(0, n);
      if (!inBody) {
        head = concat(head, chunk);
        const text = new TextDecoder("latin1").decode(head);
        const at = text.indexOf("\r\n\r\n");
        if (at < 0) continue;
        inBody = true;
        print({ event: "head", host: /X-Served-By: (\S+)/.exec(text)?.[1] ?? "?" });
        chunk = head.subarray(at + 4);
      }
      hash.update(chunk);
      bytes += chunk.length;
    }
    print({ event: "done", bytes, sha256: hash.digest("hex") });
  } catch (e) {
    print({ event: "error", error: (e as Error).message, bytes });
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timer */ }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

if (import.meta.main) {
  const [cmd, ...rest] = Deno.args;
  if (cmd === "slow-backend") await slowBackend(flags(rest));
  else if (cmd === "download") await download(flags(rest));
  else throw new Error(`_lab_helpers: unknown command "${cmd}" (slow-backend, download)`);
}
