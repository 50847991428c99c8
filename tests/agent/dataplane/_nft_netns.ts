/**
 * Throwaway network namespaces for the root-only dataplane tests and the nft benchmark.
 * Each has a unique name (apl-nft-<pid>-<random>[-c]) and is deleted by that exact name.
 * Addresses come from 198.18.0.0/15 (benchmarking range).
 */
import { lines } from "../../../agent/lab/text_lines.ts";

/** Runs a command; throws with its stderr if it fails. Returns stdout. */
export async function sh(cmd: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${dec.decode(out.stderr)}`);
  }
  return dec.decode(out.stdout);
}

export function uniqueName(tag = "nft"): string {
  const rand = crypto.getRandomValues(new Uint32Array(1))[0].toString(16).padStart(8, "0");
  return `apl-${tag}-${Deno.pid}-${rand}`;
}

/** The cluster's multicast MAC for 198.18.0.10 (NLB style: 03:bf + the IP). */
export const CLUSTER_MAC = "03:bf:c6:12:00:0a";

/**
 * Creates two namespaces joined by a veth pair: the agent's `ns` (v0: 198.18.0.2/24 and the
 * cluster IP 198.18.0.10, listening to CLUSTER_MAC) and a `client` (v1: 198.18.0.3/24, which
 * reaches the cluster IP at CLUSTER_MAC, so frames arrive as PACKET_MULTICAST, as in a cluster).
 * Runs `fn`, then deletes both by their exact names.
 */
export async function withNetns<T>(fn: (ns: string, client: string) => Promise<T>): Promise<T> {
  const ns = uniqueName();
  const client = `${ns}-c`;
  const created: string[] = [];
  try {
    for (const name of [ns, client]) {
      await sh("ip", "netns", "add", name);
      created.push(name);
      await sh("ip", "-n", name, "link", "set", "lo", "up");
    }
    await sh(
      "ip",
      "-n",
      ns,
      "link",
      "add",
      "v0",
      "type",
      "veth",
      "peer",
      "name",
      "v1",
      "netns",
      client,
    );
    await sh("ip", "-n", ns, "addr", "add", "198.18.0.2/24", "dev", "v0");
    await sh("ip", "-n", ns, "addr", "add", "198.18.0.10/32", "dev", "v0");
    await sh("ip", "-n", ns, "maddr", "add", CLUSTER_MAC, "dev", "v0");
    await sh("ip", "-n", ns, "link", "set", "v0", "up");
    await sh("ip", "-n", client, "addr", "add", "198.18.0.3/24", "dev", "v1");
    await sh("ip", "-n", client, "link", "set", "v1", "up");
    await sh(
      "ip",
      "-n",
      client,
      "neigh",
      "add",
      "198.18.0.10",
      "lladdr",
      CLUSTER_MAC,
      "dev",
      "v1",
      "nud",
      "permanent",
    );
    return await fn(ns, client);
  } finally {
    for (const name of created.reverse()) await sh("ip", "netns", "del", name);
  }
}

/** `nft ARGS…` run inside the namespace. */
export function nftIn(ns: string, ...args: string[]): Promise<string> {
  return sh("ip", "netns", "exec", ns, "nft", ...args);
}

/** Polls `check` every `everyMs` until it returns true or `withinMs` passes; returns the last. */
export async function waitFor(
  check: () => Promise<boolean>,
  withinMs: number,
  everyMs = 20,
): Promise<boolean> {
  const end = performance.now() + withinMs;
  for (let i = 0; i < 1000; i++) {
    if (await check()) return true;
    if (performance.now() >= end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

const DENO = Deno.execPath();
const CHILD = new URL("./_nft_child.ts", import.meta.url).pathname;

/** An NftRuleApplier running in `_nft_child.ts` inside a namespace, driven line by line. */
export class NftChild {
  #proc: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  constructor(
    ns: string,
    options: { iface: string; leaseMs: number; config: unknown; refreshEveryMs?: number },
  ) {
    this.#proc = new Deno.Command("ip", {
      args: ["netns", "exec", ns, DENO, "run", "-A", CHILD, JSON.stringify(options)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#writer = this.#proc.stdin.getWriter();
    this.#lines = lines(this.#proc.stdout)[Symbol.asyncIterator]();
  }

  get pid(): number {
    return this.#proc.pid;
  }

  /** Sends one command and returns its result; throws the child's error. */
  async send(cmd: Record<string, unknown>): Promise<unknown> {
    await this.#writer.write(new TextEncoder().encode(JSON.stringify(cmd) + "\n"));
    const next = await this.#lines.next();
    if (next.done) throw new Error(`the nft child exited before answering ${cmd.op}`);
    const reply = JSON.parse(next.value) as { ok: boolean; result?: unknown; error?: string };
    if (!reply.ok) throw new Error(reply.error);
    return reply.result;
  }

  /** Closes stdin (the child exits cleanly) and waits for it. */
  async close(): Promise<Deno.CommandStatus> {
    await this.#writer.close().catch(() => {});
    return await this.#proc.status;
  }

  /** SIGKILL: the agent crashes without clearing anything. */
  async kill(): Promise<Deno.CommandStatus> {
    // `ip netns exec` execs the command, so this pid is the Deno child itself.
    this.#proc.kill("SIGKILL");
    await this.#writer.close().catch(() => {});
    return await this.#proc.status;
  }
}
