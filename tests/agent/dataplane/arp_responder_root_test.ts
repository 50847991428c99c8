/**
 * PacketArpResponder on real packet sockets, in two network namespaces joined by a veth
 * pair (198.18.0.0/24, created inside the namespaces, never linked to the root one):
 *
 *   NS1 (the host)                           NS2 (a client)
 *   veth a: 198.18.0.1/24, 198.18.0.100/32   veth b: 198.18.0.2/24
 *   the responder runs here                  asks who-has, keeps neighbour entries
 *
 * FFI sockets belong to the caller's namespace, so each side runs as a child process
 * under `ip netns exec`. Needs root; every wait is bounded; namespaces are deleted by
 * exact name in `finally`.
 */
import assert from "node:assert/strict";
import { clusterMac } from "../../../agent/dataplane/cluster_mac.ts";
import { kernelArpSuppression } from "../../../agent/dataplane/arp_suppression.ts";

const CLUSTER_IP = "198.18.0.100";
const CLUSTER_MAC = clusterMac(CLUSTER_IP);
const DATAPLANE = new URL("../../../agent/dataplane/", import.meta.url).href;

/** One child program, run inside a namespace: `<mode> <json>`. */
const CHILD = `
import { PacketSocket } from "${DATAPLANE}packet_socket.ts";
import { PacketArpResponder } from "${DATAPLANE}arp_responder.ts";
import { buildArpRequest, parseArp } from "${DATAPLANE}arp_frame.ts";

const [mode, json] = Deno.args;
const a = JSON.parse(json);
if (mode === "ask") {
  // Who has a.target? Prints every reply seen within a.waitMs.
  const sock = PacketSocket.open(a.iface);
  const replies = [];
  sock.onFrame((f) => {
    const p = parseArp(f);
    if (p?.op === "reply" && p.senderIp === a.target) replies.push({ senderMac: p.senderMac, ethSrc: p.ethSrc });
  });
  sock.send(buildArpRequest({ srcMac: sock.mac, srcIp: a.from, targetIp: a.target }));
  await new Promise((r) => setTimeout(r, a.waitMs));
  await sock.close();
  console.log(JSON.stringify({ mac: sock.mac, replies }));
} else if (mode === "probe") {
  const r = new PacketArpResponder({ iface: a.iface, ip: a.ip, mode: "failover" });
  console.log(JSON.stringify(await r.probe(a.ip, a.timeoutMs)));
  await r.stop();
} else if (mode === "respond") {
  // Answers until a line "stop" or the end of input, then prints the counters.
  Deno.unrefTimer(setTimeout(() => (console.error("no stop within maxMs"), Deno.exit(3)), a.maxMs));
  const responder = new PacketArpResponder({ iface: a.iface, ip: a.ip, mode: a.mode });
  await responder.start();
  if (a.gratuitous) await responder.gratuitous(a.gratuitous, 50);
  console.log("ready");
  const buf = new Uint8Array(64);
  let said = "";
  while (!said.includes("stop")) {
    const n = await Deno.stdin.read(buf);
    if (n === null) break;
    said += new TextDecoder().decode(buf.subarray(0, n));
  }
  await responder.stop();
  console.log(JSON.stringify(responder.counters()));
  // No Deno.exit(): the process ends only if stop() ended the receive loop.
}
`;

interface Pair {
  ns1: string;
  ns2: string;
  /** Interface names, in NS1 and NS2. */
  a: string;
  b: string;
  macA: string;
  macB: string;
  script: string;
}

async function run(cmd: string[], input?: string, timeoutMs = 10_000): Promise<string> {
  const child = new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdin: input === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
    env: { NO_COLOR: "1" },
  }).spawn();
  if (input !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  const out = await child.output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (!out.success) {
    throw new Error(`${cmd.join(" ")} failed (${out.code ?? out.signal}): ${text(out.stderr)}`);
  }
  return text(out.stdout);
}

const inNs = (ns: string, ...cmd: string[]) => ["ip", "netns", "exec", ns, ...cmd];
const deno = (ns: string, script: string, mode: string, args: object) =>
  inNs(ns, Deno.execPath(), "run", "-A", "--no-config", script, mode, JSON.stringify(args));

async function withPair(fn: (p: Pair) => Promise<void>): Promise<void> {
  const tag = `${Deno.pid}-${crypto.getRandomValues(new Uint32Array(1))[0].toString(16)}`;
  const ns1 = `apl-arp-${tag}-1`, ns2 = `apl-arp-${tag}-2`;
  const short = tag.slice(-6);
  const a = `apa${short}`, b = `apb${short}`;
  const dir = await Deno.makeTempDir({ prefix: "apl-arp-" });
  const made: string[] = [];
  try {
    for (const ns of [ns1, ns2]) {
      await run(["ip", "netns", "add", ns]);
      made.push(ns);
    }
    await run([
      "ip",
      "link",
      "add",
      a,
      "netns",
      ns1,
      "type",
      "veth",
      "peer",
      "name",
      b,
      "netns",
      ns2,
    ]);
    for (const [ns, dev, addr] of [[ns1, a, "198.18.0.1/24"], [ns2, b, "198.18.0.2/24"]]) {
      await run(["ip", "-n", ns, "link", "set", "lo", "up"]);
      await run(["ip", "-n", ns, "addr", "add", addr, "dev", dev]);
      await run(["ip", "-n", ns, "link", "set", dev, "up"]);
    }
    await run(["ip", "-n", ns1, "addr", "add", `${CLUSTER_IP}/32`, "dev", a]);
    const mac = async (ns: string, dev: string) =>
      (await run(["ip", "-n", ns, "-br", "link", "show", dev])).trim().split(/\s+/)[2];
    const script = `${dir}/child.ts`;
    await Deno.writeTextFile(script, CHILD);
    await fn({ ns1, ns2, a, b, macA: await mac(ns1, a), macB: await mac(ns2, b), script });
  } finally {
    for (const ns of made) await run(["ip", "netns", "del", ns]).catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

/** From NS2: who has `target`? The replies seen within 400 ms. */
async function ask(p: Pair, target: string) {
  const out = await run(
    deno(p.ns2, p.script, "ask", { iface: p.b, from: "198.18.0.2", target, waitMs: 400 }),
  );
  return JSON.parse(out).replies as { senderMac: string; ethSrc: string }[];
}

/** NS2 takes unsolicited ARP (gratuitous, and replies it did not ask for). */
async function acceptGratuitous(p: Pair): Promise<void> {
  for (const dev of ["all", p.b]) {
    await run(inNs(p.ns2, "tee", `/proc/sys/net/ipv4/conf/${dev}/arp_accept`), "1\n");
  }
}

async function suppressKernelArp(p: Pair): Promise<void> {
  const s = kernelArpSuppression({ iface: p.a, clusterIp: CLUSTER_IP });
  await run(inNs(p.ns1, "nft", "-f", "-"), s.nft);
  for (const w of s.sysctls) await run(inNs(p.ns1, "tee", w.path), `${w.value}\n`);
}

/** A responder child in NS1, started; `stop()` asks it to stop and returns its counters. */
async function startResponder(
  p: Pair,
  opts: { mode: "shared" | "failover"; gratuitous?: number },
) {
  const child = new Deno.Command("ip", {
    args: deno(p.ns1, p.script, "respond", { iface: p.a, ip: CLUSTER_IP, maxMs: 20_000, ...opts })
      .slice(1),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const readLine = async (ms: number): Promise<string> => {
    const deadline = Date.now() + ms;
    while (!buffered.includes("\n")) {
      const r = await within(lines.read(), deadline - Date.now());
      if (r === "timeout") throw new Error(`responder said nothing for ${ms} ms`);
      if (r.done) throw new Error(`responder ended early: ${await stderr}`);
      buffered += r.value;
    }
    const i = buffered.indexOf("\n");
    const line = buffered.slice(0, i);
    buffered = buffered.slice(i + 1);
    return line;
  };
  const writer = child.stdin.getWriter();
  let exited = false;
  child.status.then(() => exited = true);
  const stop = async () => {
    await writer.write(new TextEncoder().encode("stop\n"));
    const counters = JSON.parse(await readLine(3_000));
    const exit = await within(child.status, 3_000);
    assert.notEqual(exit, "timeout", "the responder process exits by itself after stop()");
    await writer.close().catch(() => {});
    await lines.cancel();
    await stderr;
    return counters;
  };
  const kill = async () => {
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await child.status;
    await writer.close().catch(() => {});
    await lines.cancel().catch(() => {});
    await stderr;
  };
  try {
    assert.equal(await readLine(10_000), "ready");
  } catch (e) {
    await kill();
    throw e;
  }
  return { stop, kill };
}

const ROOT_ONLY = { ignore: Deno.uid() !== 0, sanitizeResources: false, sanitizeOps: false };

Deno.test({
  ...ROOT_ONLY,
  name:
    "the responder answers who-has for the cluster IP with the cluster MAC; the kernel stays silent",
  fn: () =>
    withPair(async (p) => {
      assert.deepEqual(await ask(p, CLUSTER_IP), [{ senderMac: p.macA, ethSrc: p.macA }], "kernel");
      await suppressKernelArp(p);
      assert.deepEqual(await ask(p, CLUSTER_IP), [], "kernel suppressed");
      assert.deepEqual(
        await ask(p, "198.18.0.1"),
        [{ senderMac: p.macA, ethSrc: p.macA }],
        "own IP",
      );

      const responder = await startResponder(p, { mode: "shared" });
      try {
        assert.deepEqual(await ask(p, CLUSTER_IP), [{ senderMac: CLUSTER_MAC, ethSrc: p.macA }]);
        // NS2's kernel (arp_accept=0) resolves the cluster IP itself, keeps the multicast MAC.
        assert.equal(await run(["ip", "-n", p.ns2, "neigh", "show", CLUSTER_IP]), "");
        await run(inNs(p.ns2, "bash", "-c", `echo x > /dev/udp/${CLUSTER_IP}/9`));
        await waitForNeighbour(p, CLUSTER_MAC);
        const c = await responder.stop();
        assert.ok(c.requests >= 2 && c.replies === c.requests, JSON.stringify(c));
        assert.equal(c.sendErrors, 0);
      } finally {
        await responder.kill();
      }
    }),
});

Deno.test({
  ...ROOT_ONLY,
  name: "probe() finds an address another machine uses and calls a free one free",
  fn: () =>
    withPair(async (p) => {
      const probe = async (ip: string) =>
        JSON.parse(await run(deno(p.ns1, p.script, "probe", { iface: p.a, ip, timeoutMs: 600 })));
      assert.deepEqual(await probe("198.18.0.2"), { inUse: true, by: p.macB });
      assert.deepEqual(await probe("198.18.0.200"), { inUse: false });
    }),
});

Deno.test({
  ...ROOT_ONLY,
  name:
    "gratuitous ARP sets the client's neighbour entry: cluster MAC when shared, own MAC on takeover",
  fn: () =>
    withPair(async (p) => {
      await suppressKernelArp(p);
      await acceptGratuitous(p);
      for (const [mode, mac] of [["shared", CLUSTER_MAC], ["failover", p.macA]] as const) {
        const responder = await startResponder(p, { mode, gratuitous: 3 });
        try {
          await waitForNeighbour(p, mac);
          const c = await responder.stop();
          assert.equal(c.gratuitous, 3, JSON.stringify(c));
        } finally {
          await responder.kill();
        }
      }
    }),
});

/** `p`, or "timeout" after `ms`; the timer is cleared either way. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"timeout">((r) => timer = setTimeout(r, Math.max(0, ms), "timeout"));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits (at most 2 s) until NS2 holds `mac` for the cluster IP. */
async function waitForNeighbour(p: Pair, mac: string): Promise<void> {
  let seen = "";
  for (let i = 0; i < 20; i++) {
    seen = await run(["ip", "-n", p.ns2, "neigh", "show", CLUSTER_IP, "dev", p.b]);
    if (seen.includes(`lladdr ${mac}`)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`NS2's neighbour entry for ${CLUSTER_IP} is "${seen.trim()}", not lladdr ${mac}`);
}
