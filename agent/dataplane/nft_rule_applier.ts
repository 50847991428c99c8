/**
 * The RuleApplier of the dataplane: puts bucket plans into nftables through one runner
 * (libnftables in production), and is the only code that touches the kernel's rules.
 *
 *   apply(plan, handoff)
 *                 rule structure changed (or first apply) → full ruleset, one batch (after
 *                 reading the counters that replacing the tables resets)
 *                 same structure, other buckets or another hand-off → the owned sets and
 *                 the hand-off entries that changed, with the lease, one batch (a released
 *                 bucket leaves the owned set in the same transaction that starts
 *                 forwarding it to its new owner)
 *                 same plan, lease due                        → lease renewal
 *                 same plan within refreshEveryMs             → nothing
 *   refresh()     every heartbeat: lease renewal if one is due
 *   clear()       deletes both tables
 *
 * The lease (set `lease`, see nft_rules.ts) expires after leaseMs unless renewed, so an agent
 * that dies, hangs or is frozen stops taking new flows by itself before its peers declare it
 * dead (deadMisses × periodMs) and take its buckets over. A renewal is one element, whatever
 * the plan. The tables carry
 * `flags owner`: only this runner's netlink socket can change them (not even another root
 * process's `nft flush ruleset`), and the kernel deletes them when the socket closes.
 */
import type { ClusterConfig, HeartbeatSettings } from "../cluster/config.ts";
import type { BucketPlan, Handoff } from "../cluster/effects.ts";
import type { RuleApplier } from "../ports.ts";
import type { NftResult } from "./libnftables.ts";
import {
  DEFAULT_TABLE,
  FILTER_FAMILY,
  type HandoffEntry,
  renderHandoffUpdate,
  renderLeaseRefresh,
  renderLeftoverCleanup,
  renderOwnedUpdate,
  renderRuleset,
  renderTeardown,
  type RulesetInput,
  seedFromClusterId,
} from "./nft_rules.ts";

/** What runs nft scripts: Libnftables in production, a fake in tests. */
export interface NftRunner {
  run(script: string, options?: { json?: boolean }): NftResult;
}

export interface NftRuleApplierOptions {
  runner: NftRunner;
  /** The config the plans were computed from (the driver's current config). */
  config: () => ClusterConfig;
  /** The cluster interface. */
  iface: string;
  /** The lease on new flows. Default: leaseFor(config.heartbeat) = 200 ms at the defaults. */
  leaseMs?: number;
  /** A lease is not renewed sooner than this after the last write. Default leaseMs / 8 (25). */
  refreshEveryMs?: number;
  /** jhash seed. Default: seedFromClusterId(config.clusterId), the same on every host. */
  seed?: number;
  /** Table name of both tables. Default "appliance". */
  table?: string;
  /** Monotonic milliseconds. Default performance.now. */
  now?: () => number;
  /** Whether the interface exists. Default: /sys/class/net/<name> exists. */
  interfaceExists?: (name: string) => boolean;
}

export interface CounterValue {
  packets: number;
  bytes: number;
}

/**
 * The default lease: one heartbeat less than the time peers take to declare a silent host
 * dead, so the kernel stops this host's new flows first: (deadMisses - 1) × periodMs
 * = 4 × 50 = 200 ms < 250 ms. It survives deadMisses - 2 = 3 late or missed refreshes.
 */
export function leaseFor(hb: HeartbeatSettings): number {
  return (hb.deadMisses - 1) * hb.periodMs;
}

export class NftRuleApplier implements RuleApplier {
  #o: NftRuleApplierOptions;
  #table: string;
  #now: () => number;
  /** The full ruleset in the kernel, with its set elements left out; undefined: none. */
  #structure: string | undefined;
  /** The owned buckets last written, and when. */
  #owned = "";
  #renewedAt = -Infinity;
  #last: RulesetInput | undefined;
  /** The released buckets being forwarded, as the core last listed them. */
  #handoff: HandoffEntry[] = [];
  /** Counter values carried over from tables that a full apply replaced. */
  #base: Record<string, CounterValue> = {};

  /** Removes tables of the same name left by an earlier run (found by their exact names). */
  constructor(options: NftRuleApplierOptions) {
    this.#o = options;
    this.#table = options.table ?? DEFAULT_TABLE;
    this.#now = options.now ?? (() => performance.now());
    const listing = this.#run("list tables", "listing the nftables tables");
    const cleanup = renderLeftoverCleanup(listing, this.#table);
    if (cleanup) this.#run(cleanup, `removing the leftover "${this.#table}" tables`);
  }

  apply(plan: BucketPlan, handoff?: Handoff): Promise<void> {
    return settle(() => {
      const handedOff = this.#noteHandoff(handoff);
      const input = this.#input(plan);
      const structure = renderRuleset({
        ...input,
        plan: { ...plan, epoch: 0, owned: {} },
        handoff: [],
      });
      const owned = JSON.stringify(plan.accepting ? plan.owned : {});
      const ownedChanged = owned !== this.#owned;
      if (structure !== this.#structure) this.#full(input, structure);
      else if (ownedChanged || handedOff || this.#due()) {
        this.#refresh(input, ownedChanged, handedOff);
      }
      this.#owned = owned;
      this.#last = input;
    });
  }

  /** Renews the leases if due; the driver calls it every heartbeat. */
  refresh(): Promise<void> {
    return settle(() => {
      if (this.#last && this.#structure !== undefined && this.#due()) this.#refresh(this.#last);
    });
  }

  clear(): Promise<void> {
    return settle(() => {
      if (this.#structure !== undefined) {
        this.#run(renderTeardown(this.#table), `deleting the "${this.#table}" tables`);
      }
      this.#structure = undefined;
      this.#last = undefined;
      this.#handoff = [];
      this.#owned = "";
      this.#renewedAt = -Infinity;
    });
  }

  /** Named counters of both tables (accepted per rule, dropped per reason), since start. */
  counters(): Promise<Record<string, CounterValue>> {
    return settle(() => {
      const out: Record<string, CounterValue> = {};
      for (const [name, v] of Object.entries(this.#base)) out[name] = { ...v };
      if (this.#structure === undefined) return out;
      for (const [name, v] of Object.entries(this.#kernelCounters())) {
        const b = out[name] ?? { packets: 0, bytes: 0 };
        out[name] = { packets: b.packets + v.packets, bytes: b.bytes + v.bytes };
      }
      return out;
    });
  }

  #input(plan: BucketPlan): RulesetInput {
    const config = this.#o.config();
    return {
      config,
      plan,
      iface: this.#o.iface,
      leaseMs: this.#o.leaseMs ?? leaseFor(config.heartbeat),
      seed: this.#o.seed ?? seedFromClusterId(config.clusterId),
      table: this.#table,
      handoff: this.#handoff,
    };
  }

  /**
   * Takes the core's complete list of forwarded buckets (each with the time it has left);
   * returns whether the buckets or their targets differ from the list in the kernel.
   */
  #noteHandoff(handoff: Handoff | undefined): boolean {
    const next = Object.entries(handoff ?? {}).flatMap(([rule, list]) =>
      list.map(({ bucket, to, ms }) => ({
        rule,
        bucket,
        to,
        timeoutMs: Math.max(1, Math.ceil(ms)),
      }))
    );
    const key = (l: HandoffEntry[]) => l.map((e) => `${e.rule}/${e.bucket}>${e.to}`).join();
    const changed = key(next) !== key(this.#handoff);
    this.#handoff = next;
    return changed;
  }

  #due(): boolean {
    const leaseMs = this.#last?.leaseMs ?? this.#o.leaseMs ?? 0;
    const every = this.#o.refreshEveryMs ?? Math.floor(leaseMs / 8);
    return this.#now() - this.#renewedAt >= every;
  }

  #full(input: RulesetInput, structure: string) {
    const exists = this.#o.interfaceExists ?? sysfsInterfaceExists;
    if (!exists(input.iface)) {
      throw new Error(
        `cannot filter on interface "${input.iface}": interface not found (see: ip link)`,
      );
    }
    // Replacing the tables resets their counters: keep what they counted so far.
    const carried = this.#structure === undefined ? {} : this.#kernelCounters();
    this.#run(renderRuleset(input), `installing the "${this.#table}" ruleset`);
    for (const [name, v] of Object.entries(carried)) {
      const b = this.#base[name] ?? { packets: 0, bytes: 0 };
      this.#base[name] = { packets: b.packets + v.packets, bytes: b.bytes + v.bytes };
    }
    this.#structure = structure;
    this.#renewedAt = this.#now();
  }

  #refresh(input: RulesetInput, ownedChanged = false, handedOff = false) {
    const script = (ownedChanged ? renderOwnedUpdate(input) : "") + renderLeaseRefresh(input) +
      (handedOff ? renderHandoffUpdate(input) : "");
    const what = [
      ownedChanged ? "updating the owned buckets" : "",
      "renewing the bucket leases",
      handedOff ? "updating the handed-off buckets" : "",
    ].filter(Boolean);
    const joined = what.length > 1
      ? `${what.slice(0, -1).join(", ")} and ${what[what.length - 1]}`
      : what[0];
    if (script) this.#run(script, `${joined} in "${this.#table}"`);
    this.#renewedAt = this.#now();
  }

  #kernelCounters(): Record<string, CounterValue> {
    const json = this.#run("list counters", "reading the nftables counters", true);
    return parseCounters(json, this.#table);
  }

  #run(script: string, what: string, json = false): string {
    const r = this.#o.runner.run(script, { json });
    if (r.ok) return r.output;
    throw new Error(`${what} failed: ${r.error}${hint(r.error, this.#table)}`);
  }
}

/** Named counters of the `ip` and `netdev` tables called `table`, from `nft -j list counters`. */
export function parseCounters(json: string, table: string): Record<string, CounterValue> {
  const out: Record<string, CounterValue> = {};
  for (const doc of json.split("\n")) {
    if (!doc.trim()) continue;
    const items = (JSON.parse(doc) as { nftables?: Record<string, unknown>[] }).nftables ?? [];
    for (const item of items) {
      const c = item.counter as
        | { family: string; table: string; name: string; packets: number; bytes: number }
        | undefined;
      if (!c || c.table !== table || (c.family !== FILTER_FAMILY && c.family !== "netdev")) {
        continue;
      }
      out[c.name] = { packets: c.packets, bytes: c.bytes };
    }
  }
  return out;
}

/** How to fix the usual failures, appended to nft's own error. */
function hint(error: string, table: string): string {
  if (/Operation not permitted/.test(error)) {
    return ` (run the agent as root or with CAP_NET_ADMIN; if it is, another live process owns ` +
      `the "${table}" tables — a second or frozen agent? see: nft list tables)`;
  }
  if (/Operation not supported/.test(error)) {
    return ` (a "${table}" table exists without "flags owner": delete it with ` +
      `nft delete table ${FILTER_FAMILY} ${table}; nft delete table netdev ${table})`;
  }
  if (/No such file or directory/.test(error)) {
    return ` (a table, set or interface it names is missing; see: nft list ruleset; ip link)`;
  }
  return "";
}

/** The runner is synchronous: turns its result or throw into a settled promise. */
function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err);
  }
}

function sysfsInterfaceExists(name: string): boolean {
  try {
    Deno.statSync(`/sys/class/net/${name}`);
    return true;
  } catch {
    return false;
  }
}
