/**
 * Thin helpers over iproute2 (`ip`) for the namespace lab. Every call names its namespace;
 * none touches the root namespace's links, so a lab is never connected to a real interface.
 * Needs root.
 */

const dec = new TextDecoder();

/** A failed `ip` call: what ran, and the kernel's answer. */
export class IpError extends Error {
  constructor(readonly args: string[], readonly code: number, readonly stderr: string) {
    super(`ip ${args.join(" ")} failed (exit ${code}): ${stderr.trim() || "no message"}`);
  }
}

/** Runs `ip ARGS…` to completion (at most timeoutMs); returns stdout or throws IpError. */
export async function ip(args: string[], timeoutMs = 10_000): Promise<string> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("ip", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error("`ip` not found: install iproute2 (apt-get install -y iproute2)");
    }
    throw e;
  }
  if (!out.success) throw new IpError(args, out.code, dec.decode(out.stderr));
  return dec.decode(out.stdout);
}

/** Runs ARGS inside namespace `ns`; returns stdout or throws with its stderr. */
export function exec(ns: string, args: string[], timeoutMs = 10_000): Promise<string> {
  return ip(["netns", "exec", ns, ...args], timeoutMs);
}

export async function addNetns(ns: string): Promise<void> {
  await ip(["netns", "add", ns]);
}

/** Deletes namespace `ns` by its exact name; a namespace that does not exist is no error. */
export async function delNetns(ns: string): Promise<void> {
  try {
    await ip(["netns", "del", ns]);
  } catch (e) {
    if (e instanceof IpError && /No such file|not found|Invalid argument/i.test(e.stderr)) return;
    throw e;
  }
}

/** The names of every namespace `ip netns list` shows. */
export async function listNetns(): Promise<string[]> {
  const out = await ip(["netns", "list"]);
  return out.split("\n").map((l) => l.split(" ")[0]).filter((n) => n !== "");
}

/** The pids of the processes inside `ns` (none if it is gone). */
export async function netnsPids(ns: string): Promise<number[]> {
  try {
    const out = await ip(["netns", "pids", ns]);
    return out.split(/\s+/).filter((p) => /^\d+$/.test(p)).map(Number);
  } catch {
    return [];
  }
}

/**
 * A veth pair created inside `ns`: `a` stays in `ns`, `b` goes straight to `peerNs`
 * (default: `ns` too), so neither end ever appears in the root namespace.
 */
export async function addVethPair(ns: string, a: string, b: string, peerNs = ns): Promise<void> {
  await ip(["-n", ns, "link", "add", a, "type", "veth", "peer", "name", b, "netns", peerNs]);
}

/** Moves link `dev` from `ns` into namespace `target`. */
export async function moveToNetns(ns: string, dev: string, target: string): Promise<void> {
  await ip(["-n", ns, "link", "set", dev, "netns", target]);
}

export async function setUp(ns: string, dev: string): Promise<void> {
  await ip(["-n", ns, "link", "set", dev, "up"]);
}

export async function setDown(ns: string, dev: string): Promise<void> {
  await ip(["-n", ns, "link", "set", dev, "down"]);
}

/** Adds `cidr` (e.g. "198.18.0.11/24") to `dev` in `ns`. */
export async function addAddr(ns: string, dev: string, cidr: string): Promise<void> {
  await ip(["-n", ns, "addr", "add", cidr, "dev", dev]);
}

/**
 * A bridge `dev` in `ns` with multicast snooping off, so frames to a multicast MAC (the
 * cluster's) flood to every port, like a switch without IGMP snooping.
 */
export async function addBridge(ns: string, dev: string): Promise<void> {
  await ip(["-n", ns, "link", "add", dev, "type", "bridge", "mcast_snooping", "0"]);
}

/** Makes `port` a port of bridge `bridge` (both in `ns`). */
export async function attach(ns: string, port: string, bridge: string): Promise<void> {
  await ip(["-n", ns, "link", "set", port, "master", bridge]);
}

/** Sets sysctl `key` (e.g. "net.ipv4.conf.all.arp_accept") inside `ns`. */
export async function sysctl(ns: string, key: string, value: string | number): Promise<void> {
  if (!/^[a-z0-9_]+(\.[a-z0-9_-]+)+$/.test(key)) {
    throw new Error(`sysctl: "${key}" is not a sysctl key like net.ipv4.conf.all.arp_accept`);
  }
  const path = `/proc/sys/${key.replaceAll(".", "/")}`;
  // /proc/sys/net shows the namespace of the process that opens it: write from inside ns.
  await exec(ns, ["sh", "-c", 'printf "%s\\n" "$2" > "$1"', "sh", path, String(value)]);
}

export interface SpawnOptions {
  /** Appends stdout and stderr to this file (else each goes where stdout/stderr say). */
  logFile?: string;
  stdout?: "piped" | "null";
  stderr?: "piped" | "inherit" | "null";
  env?: Record<string, string>;
}

/**
 * Starts `cmd ARGS…` inside `ns` through `ip netns exec`, which execs it: the child's pid
 * is the command's own, so signals reach it directly. With `logFile`, `sh` redirects and
 * execs too, so the pid is still the command's and output survives the parent.
 */
export function spawnIn(
  ns: string,
  cmd: string,
  args: string[],
  opts: SpawnOptions = {},
): Deno.ChildProcess {
  const run = opts.logFile === undefined
    ? [cmd, ...args]
    : ["sh", "-c", 'log="$1"; shift; exec "$@" >>"$log" 2>&1', "sh", opts.logFile, cmd, ...args];
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, ...run],
    stdin: "null",
    stdout: opts.logFile === undefined ? opts.stdout ?? "null" : "null",
    stderr: opts.logFile === undefined ? opts.stderr ?? "null" : "null",
    env: { NO_COLOR: "1", ...opts.env },
  }).spawn();
}
