/**
 * An in-memory ArpResponder: no socket, no timers. The test says which addresses other
 * machines hold (`others`), and `ask()` plays a client asking who has an address. It
 * passes the same contract as PacketArpResponder (tests/agent/dataplane/arp_responder_test.ts).
 */
import {
  type ArpCounters,
  type ArpResponder,
  emptyArpCounters,
  PROBE_COUNT,
  type ProbeResult,
} from "../../agent/dataplane/arp_responder.ts";
import { clusterMac, parseIPv4 } from "../../agent/dataplane/cluster_mac.ts";

export class FakeArpResponder implements ArpResponder {
  /** Addresses held by other machines on the link, with their MACs: probe() finds them. */
  readonly others = new Map<string, string>();
  /** Every call, in order: "start", "stop", "gratuitous 3x100", "probe 198.18.0.7 3000". */
  readonly calls: string[] = [];
  /** The MAC this responder answers with. */
  readonly answerMac: string;
  #answering = false;
  #counters = emptyArpCounters();

  constructor(
    readonly ip: string,
    opts: { mode: "shared" | "failover"; hostMac?: string } = { mode: "shared" },
  ) {
    parseIPv4(ip);
    this.answerMac = opts.mode === "shared" ? clusterMac(ip) : opts.hostMac ?? "02:00:00:00:00:01";
  }

  get answering(): boolean {
    return this.#answering;
  }

  start(): Promise<void> {
    this.calls.push("start");
    this.#answering = true;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.calls.push("stop");
    this.#answering = false;
    return Promise.resolve();
  }

  gratuitous(count: number, intervalMs: number): Promise<void> {
    this.calls.push(`gratuitous ${count}x${intervalMs}`);
    return settle(() => {
      wholeNumber("gratuitous ARP count", count);
      wholeNumber("gratuitous ARP interval", intervalMs);
      this.#counters.gratuitous += count;
    });
  }

  probe(ip: string, timeoutMs: number): Promise<ProbeResult> {
    this.calls.push(`probe ${ip} ${timeoutMs}`);
    return settle(() => {
      parseIPv4(ip);
      wholeNumber("probe timeout", timeoutMs);
      const by = this.others.get(ip);
      this.#counters.probes += by === undefined ? PROBE_COUNT : 1;
      return by === undefined ? { inUse: false } : { inUse: true, by };
    });
  }

  /** A client on the link asks who has `ip`: the MAC it learns from this host, if any. */
  ask(ip: string): string | undefined {
    if (!this.#answering) return undefined;
    if (ip !== this.ip) {
      this.#counters.ignored.otherTarget++;
      return undefined;
    }
    this.#counters.requests++;
    this.#counters.replies++;
    return this.answerMac;
  }

  counters(): ArpCounters {
    return structuredClone(this.#counters);
  }
}

/** Like an async function: a throw becomes a rejection. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e);
  }
}

function wholeNumber(what: string, n: number): void {
  if (!Number.isInteger(n) || n < 0) {
    throw new Error(`${what} must be a whole number ≥ 0, got ${n}`);
  }
}
