/**
 * A cluster of real `appliance run` agents, each in its own network namespace, on one
 * bridge with client namespaces beside them: the lab for the dataplane (cluster IP, ARP,
 * nftables), fault injection and client-visible outage measurements. Needs root.
 *
 *   <p>h1  eth0 198.18.0.11 ── vh1 ─┐
 *   <p>h2  eth0 198.18.0.12 ── vh2 ─┤  br0 in <p>br (multicast snooping off, so frames
 *   …                               ├─ to the cluster's multicast MAC reach every port)
 *   <p>c1  eth0 198.18.0.101 ─ vc1 ─┘
 *
 * Every namespace name starts with a prefix unique to the run (`apl` + 4 base36 chars +
 * `-`); addresses come from 198.18.0.0/15 only; nothing is linked to the root namespace.
 * Each host runs a web backend (web_backend.ts) on :80 answering with its name. The agents'
 * control sockets are unix sockets in their state dirs, so status() needs no `ip netns exec`.
 * destroy() (also run when create() fails) stops every process and deletes every namespace
 * by its exact name. A marker per prefix records the creating process, so cleanupStale()
 * (lab_runs.ts) can remove what a crashed run left behind.
 */
import { agentStatus, waitAllConverged, waitForStatus } from "./_agent_status.ts";
import type { ClusterStatus } from "../cluster/status.ts";
import * as net from "./_netns.ts";
import { deleteNamespace, newPrefix, readMarker, removeMarker, writeMarker } from "./lab_runs.ts";

export { cleanupPrefix, cleanupStale, LAB_PREFIX, markerPath, newPrefix } from "./lab_runs.ts";

export interface LabNode {
  /** "h1", "c1", … */
  name: string;
  /** Its namespace: <prefix>h1, … */
  ns: string;
  /** Its address on eth0. */
  address: string;
  /** Its veth end on the bridge: vh1, vc1, … */
  port: string;
}

export interface LabHost extends LabNode {
  stateDir: string;
  /** The agent's stdout and stderr (appended across restarts). */
  logFile: string;
  agent?: Deno.ChildProcess;
  /** SIGSTOPped and not SIGCONTinued since. */
  paused: boolean;
  backend?: Deno.ChildProcess;
  /** False between linkDown() and linkUp(). */
  linkUp: boolean;
}

export interface NetnsLabOptions {
  /** Hosts running an agent and a web backend, 1..8. */
  hosts: number;
  /** Client namespaces, 0..8 (default 1). */
  clients?: number;
  /** Namespace name prefix, unique to the run (default: newPrefix()). */
  prefix?: string;
  /** How to invoke appliance, e.g. [deno, "run", "-A", "/work/main/main.ts"]. */
  command: string[];
  /** Default 198.18.0.10; must be in 198.18.0.0/24 and not a host's or client's address. */
  clusterIp?: string;
  /** Default "shared". */
  mode?: "shared" | "failover";
  /** Parent of the hosts' state dirs (created; removed by destroy()). */
  baseDir: string;
  /** Extra `appliance init` arguments for h1 (e.g. --content-source DIR). */
  initArgs?: string[];
  /** Extra `config set` pairs applied on h1 before the other hosts join. */
  settings?: string[];
  /** CPU burned per request by each web backend, in ms (default 0). */
  backendCpuMs?: number;
  /** How to run the lab's own scripts (default: this deno, `run -A`). */
  runner?: string[];
  /** Extra `appliance run` arguments per host (e.g. a panel on a unix socket). */
  runArgs?: (h: LabHost) => string[];
  log?: (line: string) => void;
}

const BRIDGE = "br0";
const SUBNET = "198.18.0";
const BACKEND = new URL("./web_backend.ts", import.meta.url).pathname;

export class NetnsLab {
  readonly prefix: string;
  readonly bridgeNs: string;
  readonly clusterIp: string;
  readonly hosts: LabHost[] = [];
  readonly clients: LabNode[] = [];
  #o: NetnsLabOptions;
  #runner: string[];
  #namespaces: string[] = [];
  #procs = new Set<Deno.ChildProcess>();
  #destroyed?: Promise<void>;

  private constructor(o: NetnsLabOptions, prefix: string, runner: string[]) {
    this.#o = o;
    this.#runner = runner;
    this.prefix = prefix;
    this.bridgeNs = `${prefix}br`;
    this.clusterIp = o.clusterIp ?? `${SUBNET}.10`;
    for (let i = 1; i <= o.hosts; i++) {
      const stateDir = `${o.baseDir}/h${i}`;
      this.hosts.push({
        ...node(prefix, "h", i, `${SUBNET}.${10 + i}`),
        stateDir,
        logFile: `${stateDir}/agent.log`,
        paused: false,
        linkUp: true,
      });
    }
    for (let j = 1; j <= (o.clients ?? 1); j++) {
      this.clients.push(node(prefix, "c", j, `${SUBNET}.${100 + j}`));
    }
  }

  /** Builds the namespaces and starts the cluster; on any failure, removes it all and throws. */
  static async create(o: NetnsLabOptions): Promise<NetnsLab> {
    const prefix = o.prefix ?? newPrefix();
    const lab = new NetnsLab(o, prefix, checkOptions(o, prefix));
    const taken = (await net.listNetns()).filter((n) => n.startsWith(prefix));
    if (taken.length > 0 || readMarker(prefix)) {
      throw new Error(
        `netns lab: the prefix "${prefix}" is in use (${taken.join(", ") || "marker file"}): ` +
          "pick another, or run cleanupStale()",
      );
    }
    try {
      await lab.#build();
      return lab;
    } catch (e) {
      await lab.destroy();
      throw e;
    }
  }

  async #build(): Promise<void> {
    const o = this.#o;
    await Deno.mkdir(o.baseDir, { recursive: true });
    await writeMarker(this.prefix, o.baseDir);
    await this.#addNs(this.bridgeNs);
    await net.addBridge(this.bridgeNs, BRIDGE);
    await net.setUp(this.bridgeNs, BRIDGE);
    for (const n of [...this.hosts, ...this.clients]) {
      await this.#addNs(n.ns);
      await net.addVethPair(this.bridgeNs, n.port, "eth0", n.ns);
      await net.attach(this.bridgeNs, n.port, BRIDGE);
      await net.setUp(this.bridgeNs, n.port);
      await net.addAddr(n.ns, "eth0", `${n.address}/24`);
      await net.setUp(n.ns, "eth0");
    }
    for (const c of this.clients) {
      // Clients learn the cluster's MAC from gratuitous ARP, as on a LAN that accepts it.
      await net.sysctl(c.ns, "net.ipv4.conf.all.arp_accept", 1);
      await net.sysctl(c.ns, "net.ipv4.conf.eth0.arp_accept", 1);
    }
    this.#log(`namespaces ${this.prefix}{br,h1..h${o.hosts},c1..} up on ${BRIDGE}`);
    for (const h of this.hosts) await Deno.mkdir(h.stateDir, { recursive: true, mode: 0o700 });
    await Promise.all(this.hosts.map((h) => this.startBackend(h)));

    const [first, ...rest] = this.hosts;
    const init = await this.cli(first, [
      "init",
      ...["--cluster-ip", this.clusterIp, "--interface", "eth0", "--address", first.address],
      ...["--name", first.name, "--mode", o.mode ?? "shared", "--state-dir", first.stateDir],
      ...(o.initArgs ?? []),
      "--json",
    ]);
    if (o.settings?.length) {
      await this.cli(first, ["config", "set", ...o.settings, "--state-dir", first.stateDir]);
    }
    let token = JSON.parse(init).token as string;
    await this.start(first);
    for (const h of rest) {
      if (h !== rest[0]) {
        const out = await this.cli(first, [
          "token",
          "create",
          "--json",
          "--state-dir",
          first.stateDir,
        ]);
        token = JSON.parse(out).token;
      }
      await this.cli(h, [
        "join",
        `https://${first.address}:7947`,
        ...["--token", token, "--interface", "eth0", "--address", h.address],
        ...["--name", h.name, "--state-dir", h.stateDir],
      ]);
      await this.start(h);
    }
  }

  async #addNs(ns: string): Promise<void> {
    await net.addNetns(ns);
    this.#namespaces.push(ns); // only once it exists: a name that clashed is not ours
    await net.setUp(ns, "lo");
  }

  host(name: string): LabHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`netns lab: no host "${name}" (${this.hosts.map((x) => x.name)})`);
    return h;
  }

  /** Runs one appliance command inside n's namespace; returns stdout or throws with stderr. */
  async cli(n: LabNode, args: string[], timeoutMs = 30_000): Promise<string> {
    try {
      return await net.exec(n.ns, [...this.#o.command, ...args], timeoutMs);
    } catch (e) {
      if (!(e instanceof net.IpError)) throw e;
      throw new Error(`appliance ${args[0]} on ${n.name} failed: ${e.stderr.trim()}`);
    }
  }

  /** Runs any command inside n's namespace (e.g. ["ip", "neigh"]); returns stdout. */
  exec(n: LabNode, args: string[], timeoutMs = 10_000): Promise<string> {
    return net.exec(n.ns, args, timeoutMs);
  }

  /** Starts a process inside n's namespace; destroy() stops it. */
  spawn(n: LabNode, cmd: string, args: string[], opts?: net.SpawnOptions): Deno.ChildProcess {
    const proc = net.spawnIn(n.ns, cmd, args, opts);
    this.#procs.add(proc);
    proc.status.finally(() => this.#procs.delete(proc));
    return proc;
  }

  /** Runs one of the lab's scripts (traffic.ts, web_backend.ts) inside n's namespace. */
  runScript(
    n: LabNode,
    script: string,
    args: string[],
    opts?: net.SpawnOptions,
  ): Deno.ChildProcess {
    const [cmd, ...pre] = this.#runner;
    return this.spawn(n, cmd, [...pre, script, ...args], opts);
  }

  /** Starts h's agent (`appliance run`, output to h.logFile); waits for its control socket. */
  async start(h: LabHost, timeoutMs = 15_000): Promise<void> {
    if (h.agent) throw new Error(`netns lab: ${h.name}'s agent is already running`);
    const [cmd, ...pre] = this.#o.command;
    const extra = this.#o.runArgs?.(h) ?? [];
    const proc = this.spawn(h, cmd, [...pre, "run", "--state-dir", h.stateDir, ...extra], {
      logFile: h.logFile,
    });
    h.agent = proc;
    h.paused = false;
    this.#log(`started ${h.name} (${h.address}) in ${h.ns}, pid ${proc.pid}`);
    let exit: Deno.CommandStatus | undefined;
    proc.status.then((s) => exit = s);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exit) {
        if (h.agent === proc) h.agent = undefined;
        throw new Error(
          `${h.name}: the agent exited (code ${exit.code}) before answering; ${h.logFile}:\n` +
            await tail(h.logFile),
        );
      }
      try {
        await this.status(h);
        return;
      } catch { /* not listening yet */ }
      if (Date.now() > deadline) {
        throw new Error(`${h.name}: the agent did not answer within ${timeoutMs} ms`);
      }
      await sleep(20);
    }
  }

  /** Stops h's agent if it runs (SIGTERM: a clean bow-out), then runs it again. */
  async restart(h: LabHost, timeoutMs = 15_000): Promise<void> {
    await this.kill(h, "SIGTERM");
    await this.start(h, timeoutMs);
  }

  /**
   * Sends `signal` to h's agent (`ip netns exec` execs it, so the pid is the agent's).
   * SIGSTOP/SIGCONT pause and resume it; SIGKILL, SIGTERM and SIGINT wait until it exits.
   */
  async kill(h: LabHost, signal: Deno.Signal = "SIGKILL"): Promise<void> {
    const p = h.agent;
    if (!p) return;
    if (signal === "SIGSTOP" || signal === "SIGCONT") {
      p.kill(signal);
      h.paused = signal === "SIGSTOP";
      return;
    }
    if (signal !== "SIGKILL" && signal !== "SIGTERM" && signal !== "SIGINT") {
      p.kill(signal);
      return;
    }
    if (signal === "SIGKILL") {
      signalQuietly(p, "SIGKILL");
      await p.status;
    } else {
      await terminate(p, signal);
    }
    h.agent = undefined;
    h.paused = false;
  }

  /** Cuts h off the bridge (its veth end on the bridge goes down). */
  async linkDown(h: LabNode): Promise<void> {
    await net.setDown(this.bridgeNs, h.port);
    if ("linkUp" in h) (h as LabHost).linkUp = false;
  }

  async linkUp(h: LabNode): Promise<void> {
    await net.setUp(this.bridgeNs, h.port);
    if ("linkUp" in h) (h as LabHost).linkUp = true;
  }

  /** Starts h's web backend on 0.0.0.0:80 and waits until it listens. */
  async startBackend(h: LabHost, timeoutMs = 10_000): Promise<void> {
    if (h.backend) return;
    const log = `${h.stateDir}/web.log`;
    await Deno.writeTextFile(log, "");
    const args = ["--name", h.name, "--port", "80", "--cpu-ms", String(this.#o.backendCpuMs ?? 0)];
    const proc = this.runScript(h, BACKEND, args, { logFile: log });
    h.backend = proc;
    let exited = false;
    proc.status.then(() => exited = true);
    const deadline = Date.now() + timeoutMs;
    while (!(await Deno.readTextFile(log)).includes("listening")) {
      if (exited || Date.now() > deadline) {
        if (h.backend === proc) h.backend = undefined;
        signalQuietly(proc, "SIGKILL");
        throw new Error(`${h.name}: the web backend did not start; ${log}:\n${await tail(log)}`);
      }
      await sleep(20);
    }
  }

  async stopBackend(h: LabHost): Promise<void> {
    if (!h.backend) return;
    await terminate(h.backend, "SIGTERM");
    h.backend = undefined;
  }

  status(h: LabHost): Promise<ClusterStatus> {
    return agentStatus(h);
  }

  /** Polls h's status every 20 ms until `ok` holds; throws after timeoutMs. */
  waitFor(
    h: LabHost,
    ok: (s: ClusterStatus) => boolean,
    timeoutMs: number,
  ): Promise<ClusterStatus> {
    return waitForStatus(h, ok, timeoutMs);
  }

  /**
   * Waits until each of `hosts` (default: those with a running, unpaused agent and their
   * link up) reports a converged view of exactly those hosts.
   */
  waitConverged(timeoutMs = 15_000, hosts?: LabHost[]): Promise<void> {
    const live = hosts ?? this.hosts.filter((h) => h.agent && !h.paused && h.linkUp);
    return waitAllConverged(live, timeoutMs);
  }

  /** The last lines of h's agent log, for a failing test to print. */
  agentLog(h: LabHost, lines = 50): Promise<string> {
    return tail(h.logFile, lines);
  }

  /**
   * Stops every process (SIGTERM, SIGKILL after 3 s), deletes every namespace the lab
   * created by its exact name, removes baseDir and the marker. Safe to call twice.
   */
  destroy(): Promise<void> {
    return this.#destroyed ??= this.#teardown();
  }

  async #teardown(): Promise<void> {
    const errors: string[] = [];
    await Promise.all([...this.#procs].map((p) => terminate(p, "SIGTERM")));
    for (const h of this.hosts) [h.agent, h.backend, h.paused] = [undefined, undefined, false];
    for (const ns of this.#namespaces.reverse()) {
      try {
        await deleteNamespace(ns);
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    this.#namespaces = [];
    await Deno.remove(this.#o.baseDir, { recursive: true }).catch(() => {});
    await removeMarker(this.prefix);
    this.#log(`removed the lab ${this.prefix}*`);
    if (errors.length) throw new Error(`netns lab: cleanup incomplete: ${errors.join("; ")}`);
  }

  /**
   * For long-running users (the demo): destroy the lab on SIGINT or SIGTERM, then exit
   * with 130. Returns the function that removes the handler.
   */
  destroyOnSignal(): () => void {
    const handler = () => {
      off();
      this.destroy().finally(() => Deno.exit(130));
    };
    const off = () => {
      Deno.removeSignalListener("SIGINT", handler);
      Deno.removeSignalListener("SIGTERM", handler);
    };
    Deno.addSignalListener("SIGINT", handler);
    Deno.addSignalListener("SIGTERM", handler);
    return off;
  }

  #log(line: string): void {
    this.#o.log?.(line);
  }
}

function node(prefix: string, kind: "h" | "c", i: number, address: string): LabNode {
  return { name: `${kind}${i}`, ns: `${prefix}${kind}${i}`, address, port: `v${kind}${i}` };
}

/** Throws on options that would break the naming or addressing rules; returns the runner. */
function checkOptions(o: NetnsLabOptions, prefix: string): string[] {
  const bad = (what: string) => new Error(`netns lab: ${what}`);
  if (!Number.isInteger(o.hosts) || o.hosts < 1 || o.hosts > 8) {
    throw bad(`hosts must be 1..8, got ${o.hosts}`);
  }
  const clients = o.clients ?? 1;
  if (!Number.isInteger(clients) || clients < 0 || clients > 8) {
    throw bad(`clients must be 0..8, got ${clients}`);
  }
  if (!/^[a-z][a-z0-9]{2,9}-$/.test(prefix)) {
    throw bad(`prefix "${prefix}" must look like "aplxxxx-" (letters, digits, ending in -)`);
  }
  const m = /^198\.18\.0\.(\d{1,3})$/.exec(o.clusterIp ?? `${SUBNET}.10`);
  const last = m ? Number(m[1]) : -1;
  if (
    last < 1 || last > 254 || (last > 10 && last <= 10 + o.hosts) ||
    (last > 100 && last <= 100 + clients)
  ) {
    throw bad(`clusterIp "${o.clusterIp ?? ""}" must be a free address in ${SUBNET}.0/24`);
  }
  if (o.command.length === 0) throw bad("command is empty: pass how to run appliance");
  if (o.runner) return o.runner;
  if (!/\/deno$/.test(Deno.execPath())) {
    throw bad(
      `cannot run the lab scripts with ${Deno.execPath()}: pass runner: [deno, "run", "-A"]`,
    );
  }
  return [Deno.execPath(), "run", "-A"];
}

/** SIGTERM (or `signal`), SIGCONT in case it is paused, SIGKILL after 3 s; waits for exit. */
async function terminate(p: Deno.ChildProcess, signal: Deno.Signal): Promise<void> {
  signalQuietly(p, signal);
  signalQuietly(p, "SIGCONT");
  const t = setTimeout(() => signalQuietly(p, "SIGKILL"), 3000);
  await p.status;
  clearTimeout(t);
}

function signalQuietly(p: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    p.kill(signal);
  } catch { /* already gone */ }
}

async function tail(file: string, lines = 50): Promise<string> {
  const text = await Deno.readTextFile(file).catch((e) => `(cannot read: ${e.message})`);
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
