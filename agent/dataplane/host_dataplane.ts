/**
 * The dataplane of one host, as the driver's RuleApplier: everything the agent changes on
 * the host, put in place at start and undone on a clean stop (an owner table vanishes by
 * itself if the agent dies; addresses are removed as leftovers at the next start).
 *
 * Shared mode (the default), in keepalived's order: kernel ARP silenced for the cluster
 * IP, the cluster IP as a /32 and the multicast cluster MAC on the interface, the ARP
 * responder answering with that MAC, then nftables filtering each flow by bucket.
 * Failover mode: only the owner (the highest-priority live host) holds the cluster IP,
 * answers ARP with its own MAC and announces it with gratuitous ARP, again 1 s and 2 s later.
 */
import type { BucketPlan, Handoff } from "../cluster/effects.ts";
import type { ClusterConfig } from "../cluster/config.ts";
import type { RuleApplier } from "../ports.ts";
import type { ArpResponder } from "./arp_responder.ts";
import type { CounterValue, NftRuleApplier, NftRunner } from "./nft_rule_applier.ts";
import { kernelArpSuppression } from "./arp_suppression.ts";
import { clusterMac } from "./cluster_mac.ts";
import { type InterfaceCondition, readInterface } from "./interface_watch.ts";

/** Runs `ip` and friends; the one place this adapter touches host networking outside nft. */
export interface HostCommands {
  ip(args: string[]): Promise<void>;
  writeSysctl(path: string, value: string): Promise<void>;
}

export interface HostDataplaneOptions {
  iface: string;
  config: () => ClusterConfig;
  nft: NftRunner;
  rules: NftRuleApplier;
  arp: ArpResponder;
  host: HostCommands;
  log: (level: "info" | "warn" | "error", kind: string, message: string) => void;
  /** The interface's condition (default: /sys/class/net). */
  readInterface?: (iface: string) => InterfaceCondition;
}

export class HostDataplane implements RuleApplier {
  #o: HostDataplaneOptions;
  #claimed = false;
  /** start() has completed on the current incarnation of the interface. */
  #started = false;
  #ifindex: number | null = null;
  #lastPlan: BucketPlan | undefined;
  #announce: ReturnType<typeof setTimeout>[] = [];

  constructor(o: HostDataplaneOptions) {
    this.#o = o;
  }

  get #cfg(): ClusterConfig {
    return this.#o.config();
  }

  /**
   * Checks the cluster IP is not used by another machine (ARP probe), then prepares the
   * host. Throws with the reason when it cannot.
   */
  async start(): Promise<void> {
    const { iface, host, arp } = this.#o;
    const cond = (this.#o.readInterface ?? readInterface)(iface);
    this.#ifindex = cond.ifindex;
    const cfg = this.#cfg;
    await this.#removeAddress(); // a crashed run's leftover
    const probe = await arp.probe(cfg.clusterIp, 600);
    const ours = clusterMac(cfg.clusterIp);
    if (probe.inUse && probe.by?.toLowerCase() !== ours && cfg.mode === "shared") {
      throw new Error(
        `the cluster IP ${cfg.clusterIp} is already used by another machine (MAC ${probe.by}): ` +
          "pick a free address (appliance config set clusterIp=...) or free that one",
      );
    }
    // Not an owner table: if the agent dies, the cluster IP stays on the interface, and the
    // kernel must stay silent for it (or it would answer ARP with this host's own MAC).
    const suppress = kernelArpSuppression({ iface, clusterIp: cfg.clusterIp, owner: false });
    const r = this.#o.nft.run(suppress.nft);
    if (!r.ok) throw new Error(`cannot silence the kernel's ARP for ${cfg.clusterIp}: ${r.error}`);
    for (const s of suppress.sysctls) await host.writeSysctl(s.path, s.value);
    // Nothing may reach the host through the cluster MAC without passing the filter.
    await host.writeSysctl(`/proc/sys/net/ipv4/conf/${iface}/drop_unicast_in_l2_multicast`, "1");
    if (cfg.mode === "shared") {
      await this.#claim();
      // Correct any cache that learnt something else for the cluster IP (e.g. a host whose
      // agent died before this fix, or a previous failover-mode owner).
      await arp.gratuitous(3, 100);
    }
    this.#started = true;
  }

  /** The nftables counters: accepted new connections per rule, drops per reason. */
  traffic(): Promise<Record<string, CounterValue>> {
    return this.#o.rules.counters();
  }

  /** Whether the interface is usable now; start() waits for that (see watch()). */
  usable(): boolean {
    return (this.#o.readInterface ?? readInterface)(this.#o.iface).fault === null;
  }

  /**
   * Polls the interface every 500 ms: reports a fault when it goes missing or down, and
   * when it is back (re-doing start() if it was re-created or never started), reports null.
   */
  watch(report: (fault: string | null) => void): () => void {
    let last: string | null | undefined;
    let busy = false;
    const check = async () => {
      if (busy) return;
      busy = true;
      try {
        const cond = (this.#o.readInterface ?? readInterface)(this.#o.iface);
        let fault = cond.fault;
        if (fault === null && (!this.#started || cond.ifindex !== this.#ifindex)) {
          try {
            if (this.#started) await this.clear();
            await this.start();
            if (this.#lastPlan) await this.apply(this.#lastPlan);
          } catch (e) {
            fault = `the dataplane cannot start on "${this.#o.iface}": ${(e as Error).message}`;
          }
        }
        if (fault !== last) report(fault);
        last = fault;
      } finally {
        busy = false;
      }
    };
    check();
    const timer = setInterval(check, 500);
    return () => clearInterval(timer);
  }

  async apply(plan: BucketPlan, handoff?: Handoff): Promise<void> {
    this.#lastPlan = plan;
    if (!this.#started) return; // watch() starts it once the interface is usable, then applies
    if (this.#cfg.mode === "failover") {
      if (plan.accepting && plan.defaultHost && !this.#claimed) await this.#takeOver(plan.epoch);
      else if (!(plan.accepting && plan.defaultHost) && this.#claimed) await this.#release();
      return;
    }
    await this.#o.rules.apply(plan, handoff);
  }

  refresh(): Promise<void> {
    if (!this.#started) return Promise.resolve();
    return this.#cfg.mode === "shared" ? this.#o.rules.refresh() : Promise.resolve();
  }

  /** Established TCP connections whose local address is the cluster IP (`ss`). */
  async established(): Promise<number> {
    const out = await new Deno.Command("ss", {
      args: ["-Htn", "state", "established", "src", this.#cfg.clusterIp],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) throw new Error("ss failed: install iproute2");
    return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.trim()).length;
  }

  async clear(): Promise<void> {
    this.#started = false;
    for (const t of this.#announce) clearTimeout(t);
    this.#announce = [];
    await this.#o.rules.clear();
    this.#o.nft.run("delete table arp appliance");
    await this.#release();
  }

  async #claim(): Promise<void> {
    const { iface, host, arp } = this.#o;
    const cfg = this.#cfg;
    await host.ip(["addr", "replace", `${cfg.clusterIp}/32`, "dev", iface]);
    if (cfg.mode === "shared") {
      await host.ip(["maddr", "add", clusterMac(cfg.clusterIp), "dev", iface]).catch(() => {});
    }
    await arp.start();
    this.#claimed = true;
  }

  async #takeOver(epoch: number): Promise<void> {
    await this.#claim();
    this.#o.log(
      "info",
      "dataplane.takeover",
      `took over the cluster IP ${this.#cfg.clusterIp} (epoch ${epoch})`,
    );
    await this.#o.arp.gratuitous(3, 100);
    // keepalived's delayed re-sends, for caches that missed the first burst.
    for (const at of [1000, 2000]) {
      this.#announce.push(setTimeout(() => this.#claimed && this.#o.arp.gratuitous(1, 0), at));
    }
  }

  async #release(): Promise<void> {
    await this.#o.arp.stop();
    await this.#removeAddress();
    if (this.#claimed && this.#cfg.mode === "failover") {
      this.#o.log("info", "dataplane.release", `released the cluster IP ${this.#cfg.clusterIp}`);
    }
    this.#claimed = false;
  }

  async #removeAddress(): Promise<void> {
    const { iface, host } = this.#o;
    const cfg = this.#cfg;
    await host.ip(["addr", "del", `${cfg.clusterIp}/32`, "dev", iface]).catch(() => {});
    await host.ip(["maddr", "del", clusterMac(cfg.clusterIp), "dev", iface]).catch(() => {});
  }
}

/** HostCommands on the `ip` binary and /proc/sys, with errors that name the fix. */
export const systemHostCommands: HostCommands = {
  async ip(args) {
    let out;
    try {
      out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
    } catch {
      throw new Error(
        "the `ip` command is missing: install iproute2 (apt-get install -y iproute2)",
      );
    }
    if (!out.success) {
      throw new Error(`ip ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
    }
  },
  async writeSysctl(path, value) {
    try {
      await Deno.writeTextFile(path, value);
    } catch (e) {
      throw new Error(
        `cannot write ${path}: ${(e as Error).message} (the agent needs root or CAP_NET_ADMIN)`,
      );
    }
  },
};
