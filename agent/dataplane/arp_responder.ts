/**
 * The ArpResponder port and its real adapter on a packet socket.
 *
 * The kernel's own ARP answers for the cluster IP are suppressed (arp_suppression.ts), so
 * this is the only thing on the host that answers "who has <cluster IP>?":
 *
 *   shared mode   every host runs it all the time and answers with the cluster MAC
 *                 03:bf:<cluster IP>; the Ethernet source is the host's own MAC.
 *   failover mode only the owner runs it (start() on takeover, stop() on release) and
 *                 answers with its own MAC. Before claiming, probe(); after claiming,
 *                 gratuitous() — a burst now and another one later, as keepalived does.
 */
import {
  type ArpPacket,
  buildArpProbe,
  buildGratuitousArp,
  ETH_P_ARP,
  parseArp,
} from "./arp_frame.ts";
import {
  answerArp,
  type ArpIdentity,
  IGNORE_REASONS,
  type IgnoreReason,
  probeConflict,
} from "./arp_answer.ts";
import { clusterMac, parseIPv4 } from "./cluster_mac.ts";
import { ARPHRD_ETHER, PacketSocket } from "./packet_socket.ts";

/**
 * Answers ARP for one cluster IP on one interface, announces it, and probes addresses.
 * Real adapter: PacketArpResponder (below); fake: tests/_fakes/fake_arp_responder.ts.
 * Opening the interface can throw (not found, no CAP_NET_RAW); sending never throws:
 * send failures are counted.
 */
export interface ArpResponder {
  /** Starts answering requests for the cluster IP. Idempotent. */
  start(): Promise<void>;
  /**
   * Stops answering, cuts short any gratuitous burst and probe in flight (a cut probe
   * rejects), and resolves once the socket is closed — the process can then exit.
   * Idempotent; start() may be called again afterwards.
   */
  stop(): Promise<void>;
  /**
   * Sends `count` gratuitous ARPs for the cluster IP with the answer MAC, `intervalMs`
   * apart (the first at once); resolves after the last. Works whether started or not.
   */
  gratuitous(count: number, intervalMs: number): Promise<void>;
  /**
   * RFC 5227 probe: asks "who has `ip`?" from 0.0.0.0 three times over `timeoutMs` and
   * resolves at the first answer, with the MAC of the machine that uses (or also probes
   * for) `ip`, or `{ inUse: false }` once `timeoutMs` has passed. Works whether started
   * or not. In shared mode, peers answer for the cluster IP with the cluster MAC.
   */
  probe(ip: string, timeoutMs: number): Promise<ProbeResult>;
  /** A copy of the counters. */
  counters(): ArpCounters;
}

export interface ProbeResult {
  inUse: boolean;
  /** The MAC that answered, when `inUse`. */
  by?: string;
}

export interface ArpCounters {
  /** Requests for the cluster IP received while answering. */
  requests: number;
  /** Replies sent. */
  replies: number;
  /** Frames received while answering and not answered, by reason. */
  ignored: Record<IgnoreReason, number>;
  /** Frames from the cluster IP with a MAC that is neither ours nor the cluster MAC. */
  conflicts: number;
  lastConflictMac?: string;
  gratuitous: number;
  probes: number;
  /** Frames that could not be sent; the last error is kept. */
  sendErrors: number;
  /** Receive errors (a handler bug, or a socket error that ended the receive loop). */
  receiveErrors: number;
  lastError?: string;
}

export function emptyArpCounters(): ArpCounters {
  const ignored = Object.fromEntries(IGNORE_REASONS.map((r) => [r, 0])) as ArpCounters["ignored"];
  return {
    requests: 0,
    replies: 0,
    ignored,
    conflicts: 0,
    gratuitous: 0,
    probes: 0,
    sendErrors: 0,
    receiveErrors: 0,
  };
}

/** Probes sent by probe(), spread evenly over its timeout (RFC 5227's PROBE_NUM). */
export const PROBE_COUNT = 3;

/** What the adapter needs of a packet socket; PacketSocket is one, tests use a memory link. */
export interface FrameLink {
  /** The interface's own MAC. */
  readonly mac: string;
  /** ARPHRD_* link type; ARP needs Ethernet (1). */
  readonly linkType: number;
  send(frame: Uint8Array): void;
  onFrame(handler: (frame: Uint8Array) => void, onError?: (e: Error) => void): void;
  close(): Promise<void>;
}

export interface PacketArpResponderOptions {
  /** The cluster interface, e.g. "eth1". */
  iface: string;
  /** The cluster IP. */
  ip: string;
  /** shared: answer with the cluster MAC; failover: with the interface's own MAC. */
  mode: "shared" | "failover";
  /** Default: PacketSocket.open(iface, { protocol: ETH_P_ARP }). */
  openLink?: (iface: string) => FrameLink;
  /** Waits `ms`, resolving early when `signal` aborts. Default: setTimeout. */
  delay?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export class PacketArpResponder implements ArpResponder {
  readonly #opts: Required<PacketArpResponderOptions>;
  #counters = emptyArpCounters();
  #link: FrameLink | undefined;
  #me: ArpIdentity | undefined;
  /** start() holds one use while answering; each gratuitous()/probe() one while it runs. */
  #uses = 0;
  #answering = false;
  #closing: Promise<void> = Promise.resolve();
  #idle: (() => void)[] = [];
  #stopping = new AbortController();
  #probes = new Set<(p: ArpPacket) => void>();

  constructor(opts: PacketArpResponderOptions) {
    parseIPv4(opts.ip);
    this.#opts = {
      openLink: (iface) => PacketSocket.open(iface, { protocol: ETH_P_ARP }),
      delay: abortableDelay,
      ...opts,
    };
  }

  // deno-lint-ignore require-await -- async so that an open error rejects, as documented
  async start(): Promise<void> {
    if (!this.#answering) {
      this.#acquire();
      this.#answering = true;
    }
  }

  async stop(): Promise<void> {
    if (this.#answering) {
      this.#answering = false;
      this.#release();
    }
    this.#stopping.abort();
    this.#stopping = new AbortController();
    while (this.#uses > 0) await new Promise<void>((r) => this.#idle.push(r));
    await this.#closing;
  }

  async gratuitous(count: number, intervalMs: number): Promise<void> {
    wholeNumber("gratuitous ARP count", count);
    wholeNumber("gratuitous ARP interval", intervalMs);
    const stopping = this.#stopping.signal;
    const me = this.#acquire();
    try {
      const frame = buildGratuitousArp({ mac: me.answerMac, ip: me.ip, ethSrcMac: me.hostMac });
      for (let i = 0; i < count && !stopping.aborted; i++) {
        if (i > 0) await this.#opts.delay(intervalMs, stopping);
        if (stopping.aborted) break;
        if (this.#send(frame)) this.#counters.gratuitous++;
      }
    } finally {
      this.#release();
    }
  }

  async probe(ip: string, timeoutMs: number): Promise<ProbeResult> {
    parseIPv4(ip);
    wholeNumber("probe timeout", timeoutMs);
    const stopping = this.#stopping.signal;
    const me = this.#acquire();
    const found = new AbortController();
    let by: string | undefined;
    const listener = (p: ArpPacket) => {
      by ??= probeConflict(p, ip, me.hostMac);
      if (by !== undefined) found.abort();
    };
    this.#probes.add(listener);
    try {
      const wake = AbortSignal.any([stopping, found.signal]);
      const frame = buildArpProbe({ mac: me.hostMac, ip });
      for (let i = 0; i < PROBE_COUNT && !wake.aborted; i++) {
        if (this.#send(frame)) this.#counters.probes++;
        await this.#opts.delay(timeoutMs / PROBE_COUNT, wake);
      }
    } finally {
      this.#probes.delete(listener);
      this.#release();
    }
    if (by !== undefined) return { inUse: true, by };
    if (stopping.aborted) {
      throw new Error(
        `probe of ${ip} on "${this.#opts.iface}" was cut short: the responder stopped`,
      );
    }
    return { inUse: false };
  }

  counters(): ArpCounters {
    return structuredClone(this.#counters);
  }

  /** Opens the link on first use; returns who we are on it. */
  #acquire(): ArpIdentity {
    if (this.#link === undefined) {
      const { iface, ip, mode } = this.#opts;
      const link = this.#opts.openLink(iface);
      if (link.linkType !== ARPHRD_ETHER) {
        void link.close();
        throw new Error(
          `cannot answer ARP on "${iface}": not an Ethernet interface (link type ` +
            `${link.linkType}; see: ip link show ${iface})`,
        );
      }
      this.#link = link;
      this.#me = {
        ip,
        hostMac: link.mac,
        answerMac: mode === "shared" ? clusterMac(ip) : link.mac,
      };
      link.onFrame((f) => this.#receive(f), (e) => {
        this.#counters.receiveErrors++;
        this.#counters.lastError = e.message;
      });
    }
    this.#uses++;
    return this.#me!;
  }

  #release(): void {
    if (--this.#uses > 0) return;
    const link = this.#link!;
    this.#link = undefined;
    this.#closing = link.close();
    for (const wake of this.#idle.splice(0)) wake();
  }

  #receive(frame: Uint8Array): void {
    const packet = parseArp(frame);
    if (packet !== undefined) { for (const listener of this.#probes) listener(packet); }
    if (!this.#answering || this.#me === undefined) return;
    const d = answerArp(packet, this.#me);
    if (d.conflict !== undefined) {
      this.#counters.conflicts++;
      this.#counters.lastConflictMac = d.conflict;
    }
    if (d.kind === "ignore") {
      this.#counters.ignored[d.reason]++;
      return;
    }
    this.#counters.requests++;
    if (this.#send(d.frame)) this.#counters.replies++;
  }

  #send(frame: Uint8Array): boolean {
    try {
      this.#link!.send(frame);
      return true;
    } catch (e) {
      this.#counters.sendErrors++;
      this.#counters.lastError = (e as Error).message;
      return false;
    }
  }
}

function wholeNumber(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${what} must be a whole number ≥ 0, got ${n}`);
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
