/**
 * The ArpResponder contract, run against the fake and against PacketArpResponder over an
 * in-memory link; then what only the real adapter does (frames, counters, stop). The
 * same adapter on a real packet socket is tested in arp_responder_root_test.ts.
 */
import assert from "node:assert/strict";
import {
  type ArpResponder,
  type FrameLink,
  PacketArpResponder,
  PROBE_COUNT,
} from "../../../agent/dataplane/arp_responder.ts";
import {
  buildArpProbe,
  buildArpReply,
  buildArpRequest,
  buildGratuitousArp,
  parseArp,
} from "../../../agent/dataplane/arp_frame.ts";
import { FakeArpResponder } from "../../_fakes/fake_arp_responder.ts";

const IP = "198.18.0.100";
const CLUSTER_MAC = "03:bf:c6:12:00:64";
const HOST = "02:00:00:00:00:01";
const CLIENT = "02:00:00:00:00:02";
const STRANGER = "02:00:00:00:00:66";

/** One Ethernet segment: frames sent on it reach the machines in `others`, which answer. */
class MemoryLink implements FrameLink {
  readonly sent: Uint8Array[] = [];
  closed = false;
  failSends = false;
  #handler: ((frame: Uint8Array) => void) | undefined;
  /** What the adapter gave for receive errors. */
  onError: ((e: Error) => void) | undefined;

  constructor(
    readonly mac: string,
    readonly others: Map<string, string>,
    readonly linkType = 1,
  ) {}

  send(frame: Uint8Array): void {
    if (this.closed) throw new Error("link is closed");
    if (this.failSends) throw new Error(`cannot send on "veth0": interface "veth0" is down`);
    this.sent.push(frame.slice());
    const p = parseArp(frame);
    const owner = p?.op === "request" ? this.others.get(p.targetIp) : undefined;
    if (p && owner) {
      this.deliver(
        buildArpReply({ srcMac: owner, srcIp: p.targetIp, dstMac: p.senderMac, dstIp: p.senderIp }),
      );
    }
  }

  onFrame(handler: (frame: Uint8Array) => void, onError?: (e: Error) => void): void {
    this.#handler = handler;
    this.onError = onError;
  }

  deliver(frame: Uint8Array): void {
    if (!this.closed) this.#handler?.(frame);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

interface World {
  responder: ArpResponder;
  /** Another machine on the link holds `ip` with `mac`. */
  occupy(ip: string, mac: string): void;
  /** A client asks who has `ip`: the MAC it learns from the responder, if any. */
  ask(ip: string): string | undefined;
}

function memoryWorld(
  mode: "shared" | "failover",
  opts: { hold?: boolean; linkType?: number } = {},
) {
  const others = new Map<string, string>();
  const links: MemoryLink[] = [];
  const delays: number[] = [];
  const responder = new PacketArpResponder({
    iface: "veth0",
    ip: IP,
    mode,
    openLink: () => {
      links.push(new MemoryLink(HOST, others, opts.linkType));
      return links.at(-1)!;
    },
    delay: (ms, signal) => {
      delays.push(ms);
      if (!opts.hold || signal.aborted) return Promise.resolve();
      return new Promise((resolve) => signal.addEventListener("abort", () => resolve()));
    },
  });
  const open = () => links.find((l) => !l.closed);
  return {
    responder,
    links,
    delays,
    open,
    occupy: (ip: string, mac: string) => void others.set(ip, mac),
    ask(ip: string): string | undefined {
      const link = open();
      if (link === undefined) return undefined;
      const before = link.sent.length;
      link.deliver(buildArpRequest({ srcMac: CLIENT, srcIp: "198.18.0.2", targetIp: ip }));
      const replies = link.sent.slice(before).map(parseArp);
      return replies.find((p) => p?.op === "reply" && p.targetMac === CLIENT)?.senderMac;
    },
  };
}

function fakeWorld(mode: "shared" | "failover"): World {
  const responder = new FakeArpResponder(IP, { mode, hostMac: HOST });
  return {
    responder,
    occupy: (ip, mac) => void responder.others.set(ip, mac),
    ask: (ip) => responder.ask(ip),
  };
}

const WORLDS: [string, (mode: "shared" | "failover") => World][] = [
  ["FakeArpResponder", fakeWorld],
  ["PacketArpResponder", (mode) => memoryWorld(mode)],
];

for (const [name, makeWorld] of WORLDS) {
  for (const [mode, answerMac] of [["shared", CLUSTER_MAC], ["failover", HOST]] as const) {
    Deno.test(`${name} (${mode}) answers who-has for the cluster IP with ${answerMac} only while started`, async () => {
      const w = makeWorld(mode);
      assert.equal(w.ask(IP), undefined, "not started");
      await w.responder.start();
      assert.equal(w.ask(IP), answerMac);
      const c = w.responder.counters();
      assert.deepEqual([c.requests, c.replies], [1, 1]);
      await w.responder.stop();
      assert.equal(w.ask(IP), undefined, "stopped");
    });
  }

  Deno.test(`${name} does not answer for another address`, async () => {
    const w = makeWorld("shared");
    await w.responder.start();
    assert.equal(w.ask("198.18.0.1"), undefined);
    assert.equal(w.responder.counters().replies, 0);
    assert.equal(w.responder.counters().ignored.otherTarget, 1);
    await w.responder.stop();
  });

  Deno.test(`${name} probe() finds an address another machine holds, with its MAC`, async () => {
    const w = makeWorld("failover");
    w.occupy("198.18.0.7", STRANGER);
    assert.deepEqual(await w.responder.probe("198.18.0.7", 3000), { inUse: true, by: STRANGER });
    assert.ok(w.responder.counters().probes >= 1);
  });

  Deno.test(`${name} probe() of a free address says it is not in use`, async () => {
    const w = makeWorld("failover");
    w.occupy("198.18.0.7", STRANGER);
    assert.deepEqual(await w.responder.probe("198.18.0.8", 3000), { inUse: false });
    assert.equal(w.responder.counters().probes, PROBE_COUNT);
  });

  Deno.test(`${name} gratuitous() counts each announcement, started or not`, async () => {
    const w = makeWorld("shared");
    await w.responder.gratuitous(3, 100);
    await w.responder.start();
    await w.responder.gratuitous(2, 100);
    assert.equal(w.responder.counters().gratuitous, 5);
    await w.responder.stop();
  });

  Deno.test(`${name} start() and stop() are idempotent and start() works again after stop()`, async () => {
    const w = makeWorld("shared");
    await w.responder.stop();
    await w.responder.start();
    await w.responder.start();
    await w.responder.stop();
    await w.responder.stop();
    await w.responder.start();
    assert.equal(w.ask(IP), CLUSTER_MAC);
    await w.responder.stop();
  });

  Deno.test(`${name} refuses counts and addresses that make no sense, saying what is wrong`, async () => {
    const w = makeWorld("shared");
    await assert.rejects(
      w.responder.gratuitous(-1, 100),
      /gratuitous ARP count must be a whole number/,
    );
    await assert.rejects(w.responder.gratuitous(3, 0.5), /gratuitous ARP interval must be a whole/);
    await assert.rejects(w.responder.probe("198.18.0", 100), /"198.18.0" is not an IPv4 address/);
    await assert.rejects(w.responder.probe("198.18.0.7", NaN), /probe timeout must be a whole/);
  });
}

Deno.test("PacketArpResponder sends gratuitous ARP with the cluster MAC from the host MAC, then closes", async () => {
  const w = memoryWorld("shared");
  await w.responder.gratuitous(3, 250);
  const link = w.links[0];
  assert.deepEqual(
    link.sent,
    Array(3).fill(buildGratuitousArp({ mac: CLUSTER_MAC, ip: IP, ethSrcMac: HOST })),
  );
  assert.deepEqual(w.delays, [250, 250], "no wait before the first");
  assert.ok(link.closed, "a burst while not started does not keep the socket");
});

Deno.test("PacketArpResponder probe() sends three RFC 5227 probes spread over the timeout", async () => {
  const w = memoryWorld("failover");
  await w.responder.probe("198.18.0.8", 3000);
  assert.deepEqual(w.links[0].sent, Array(3).fill(buildArpProbe({ mac: HOST, ip: "198.18.0.8" })));
  assert.deepEqual(w.delays, [1000, 1000, 1000]);
  assert.ok(w.links[0].closed);
});

Deno.test("PacketArpResponder probe() stops at the first answer", async () => {
  const w = memoryWorld("failover");
  w.occupy("198.18.0.7", STRANGER);
  await w.responder.probe("198.18.0.7", 3000);
  assert.equal(w.links[0].sent.length, 1);
});

Deno.test("PacketArpResponder stop() cuts a probe short, which rejects, and closes the link", async () => {
  const w = memoryWorld("failover", { hold: true });
  await w.responder.start();
  const probe = w.responder.probe("198.18.0.8", 3000);
  await w.responder.stop();
  await assert.rejects(
    probe,
    /probe of 198.18.0.8 on "veth0" was cut short: the responder stopped/,
  );
  assert.ok(w.links[0].closed);
});

Deno.test("PacketArpResponder stop() cuts a gratuitous burst short", async () => {
  const w = memoryWorld("shared", { hold: true });
  const burst = w.responder.gratuitous(5, 1000);
  await w.responder.stop();
  await burst;
  assert.equal(w.links[0].sent.length, 1);
  assert.ok(w.links[0].closed);
});

Deno.test("PacketArpResponder keeps one link while answering, probing and announcing at once", async () => {
  const w = memoryWorld("shared", { hold: true });
  await w.responder.start();
  const burst = w.responder.gratuitous(2, 1000);
  const probe = w.responder.probe("198.18.0.8", 3000).catch(() => {});
  assert.equal(w.links.length, 1);
  await w.responder.stop();
  await Promise.all([burst, probe]);
  assert.equal(w.links.length, 1);
  assert.ok(w.links[0].closed);
});

Deno.test("PacketArpResponder counts ignored frames by reason and conflicts with their MAC", async () => {
  const w = memoryWorld("shared");
  await w.responder.start();
  const link = w.open()!;
  link.deliver(new Uint8Array(20));
  link.deliver(buildArpRequest({ srcMac: HOST, srcIp: "198.18.0.1", targetIp: IP }));
  link.deliver(
    buildArpReply({ srcMac: CLIENT, srcIp: "198.18.0.2", dstMac: HOST, dstIp: "198.18.0.1" }),
  );
  link.deliver(buildGratuitousArp({ mac: STRANGER, ip: IP }));
  const c = w.responder.counters();
  assert.deepEqual(c.ignored, {
    notArp: 1,
    ownFrame: 1,
    notRequest: 1,
    otherTarget: 0,
    announcement: 1,
  });
  assert.deepEqual([c.conflicts, c.lastConflictMac], [1, STRANGER]);
  await w.responder.stop();
});

Deno.test("PacketArpResponder counts send failures instead of throwing", async () => {
  const w = memoryWorld("shared");
  await w.responder.start();
  w.open()!.failSends = true;
  assert.equal(w.ask(IP), undefined);
  await w.responder.gratuitous(2, 10);
  const c = w.responder.counters();
  assert.deepEqual([c.requests, c.replies, c.gratuitous, c.sendErrors], [1, 0, 0, 3]);
  assert.match(c.lastError ?? "", /interface "veth0" is down/);
  await w.responder.stop();
});

Deno.test("PacketArpResponder counts the receive errors its socket reports", async () => {
  const w = memoryWorld("shared");
  await w.responder.start();
  w.open()!.onError?.(new Error(`cannot receive on "veth0": Bad address (errno 14)`));
  const c = w.responder.counters();
  assert.deepEqual([c.receiveErrors, c.lastError], [
    1,
    `cannot receive on "veth0": Bad address (errno 14)`,
  ]);
  await w.responder.stop();
});

Deno.test("PacketArpResponder start() refuses an interface that is not Ethernet", async () => {
  const w = memoryWorld("shared", { linkType: 772 });
  await assert.rejects(
    w.responder.start(),
    /cannot answer ARP on "veth0": not an Ethernet interface \(link type 772; see: ip link show veth0\)/,
  );
  assert.ok(w.links[0].closed);
  await w.responder.stop();
});

Deno.test("PacketArpResponder start() passes on the error of opening the interface", async () => {
  const responder = new PacketArpResponder({
    iface: "eth9",
    ip: IP,
    mode: "shared",
    openLink: () => {
      throw new Error(`interface "eth9" not found (see: ip link)`);
    },
  });
  await assert.rejects(responder.start(), /interface "eth9" not found \(see: ip link\)/);
  await responder.stop();
});

Deno.test("PacketArpResponder refuses a cluster IP that is not IPv4", () => {
  assert.throws(
    () => new PacketArpResponder({ iface: "eth1", ip: "198.18.0.300", mode: "shared" }),
    /"198.18.0.300" is not an IPv4 address/,
  );
});

Deno.test("counters() returns a copy", async () => {
  const w = memoryWorld("shared");
  const c = w.responder.counters();
  c.ignored.notArp = 99;
  assert.equal(w.responder.counters().ignored.notArp, 0);
  await w.responder.stop();
});
