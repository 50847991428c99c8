/**
 * The nftables text of the dataplane, built by pure functions (golden-tested byte for byte).
 *
 *   cluster NIC ──> netdev <table> ingress ──> conntrack (-200) ──> ip <table> prerouting (-150)
 *                   frames for the cluster IP                         packets for the cluster IP:
 *                   get pkttype host (TCP drops                       established/related accept,
 *                   PACKET_MULTICAST frames)                          invalid drop, then port rules
 *
 * The filter table is `ip`, not `inet`: nftables 1.0.6 refuses `dup` in an inet table.
 *
 * Port rules, most specific first, `default` last:
 *   multiple  goto rule_<id>: mark = jhash(flow) mod buckets; accept a new flow whose mark is in
 *             set owned_<id> (this host's buckets)
 *   single    accept new flows on the rule's owner, drop elsewhere
 *   disabled  drop
 * Anything else for the cluster IP (ICMP, ports outside every rule) is taken by the default host.
 *
 * The kernel lease. Set `lease` holds one element, the cluster IP, with a timeout (leaseMs)
 * that the agent renews every heartbeat. A new flow for a cluster IP not in it is dropped
 * before any rule, so an agent that dies, hangs or is frozen stops taking new flows by itself
 * (in every rule, `single` and the default host's included) before its peers declare it dead
 * and take its share. One element, not a timeout on every owned bucket: a renewal costs the
 * same whatever the plan (half of 1024 buckets is 512 elements to re-add).
 *
 * A new flow is a TCP SYN or any UDP packet that conntrack has not seen. Mid-stream TCP of a
 * flow this host does not know is dropped before TCP could answer it with a RST: as INVALID
 * with nf_conntrack_tcp_loose=0 (drop_invalid), as a new flow without SYN with loose=1
 * (drop_not_syn). That is what lets a connection finish on its old owner after its bucket moved.
 *
 * Hand-over without a gap. When a plan takes buckets away from this host (a drainstop, a stop,
 * a newcomer), the new owner can take them only after it hears of it: a SYN arriving in between
 * would find no owner and wait for the client's retransmission (1 s). So the releasing host
 * keeps each released bucket in map handoff_<id> (bucket → new owner's address, expired by
 * the kernel after handoffMs) and forwards a new flow in it with `dup` to that address (the
 * kernel resolves the peer's MAC), then drops it here. A host accepts such a forwarded packet
 * (cluster IP, sent to its own MAC rather than the cluster MAC) as its new owner, and so does
 * a newcomer still fetching the map (plan.joining); it never forwards it again, so nothing
 * loops. Exactly one host takes each SYN at every instant.
 *
 * Every host hashes with the same seed (from the cluster id) and the same bucket count, so each
 * bucket lands on exactly one owner. The hash is written to the packet mark (`meta mark set`):
 * sets are `type mark`, because a `typeof jhash …` set crashes `nft list` (nftables 1.0.6).
 */
import type { ClusterConfig, PortRule } from "../cluster/config.ts";
import { isIPv4 } from "../cluster/config.ts";
import type { BucketPlan } from "../cluster/effects.ts";
import { clusterMac } from "./cluster_mac.ts";

/** Name of both tables (`netdev` and `ip`). */
export const DEFAULT_TABLE = "appliance";
/** Family of the filter table (the ingress table is `netdev`). */
export const FILTER_FAMILY = "ip";

/** Named counters for dropped packets, one per reason (status shows them). */
export const DROP_COUNTERS = [
  /** Conntrack marked it INVALID: mid-stream packets of flows another host serves. */
  "drop_invalid",
  /** A new TCP flow that does not start with a SYN (only seen with nf_conntrack_tcp_loose=1). */
  "drop_not_syn",
  /** The host is stopped, suspended or draining: only established flows are served. */
  "drop_not_accepting",
  /** The agent did not renew its lease in time (it died, hangs or is frozen). */
  "drop_lease_expired",
  /** A `multiple` rule's bucket belongs to another host. */
  "drop_not_owned",
  /** A `single` rule owned by another host. */
  "drop_not_single_owner",
  /** A `disabled` rule. */
  "drop_disabled",
  /** Outside every rule, and this host is not the default host. */
  "drop_not_default_host",
] as const;

/** Counter of packets for the cluster IP accepted outside every rule (on the default host). */
export const OUTSIDE_RULES_COUNTER = "accept_outside_rules";
/** Counter of new flows this host forwarded to the new owner of a bucket it released. */
export const HANDED_OFF_COUNTER = "handed_off";
/** Counter of new flows a peer forwarded here (a bucket it released to this host). */
export const HANDED_IN_COUNTER = "accept_handed_in";

/** Counter (netdev table) of frames for the cluster IP whose pkttype was set to host. */
export const INGRESS_COUNTER = "ingress_set_host";
/** The set whose one element, the cluster IP, is this host's lease on new flows. */
export const LEASE_SET = "lease";

/** A released bucket whose new flows go to the peer at `to` until the kernel expires it. */
export interface HandoffEntry {
  rule: string;
  bucket: number;
  to: string;
  timeoutMs: number;
}

export interface RulesetInput {
  config: ClusterConfig;
  plan: BucketPlan;
  /** The cluster interface, where frames to the cluster IP arrive. */
  iface: string;
  /** Lifetime of the lease: shorter than the peers' failure detection. */
  leaseMs: number;
  /** jhash seed, the same on every host (see seedFromClusterId). */
  seed: number;
  /** Table name, default "appliance". */
  table?: string;
  /** Released buckets still forwarded to their new owners. */
  handoff?: HandoffEntry[];
}

/** Counter of new flows a rule accepted on this host. */
export function ruleCounter(id: string): string {
  return `rule_${id}`;
}

/** The jhash seed every host derives alike: the first 32 bits of the cluster id. */
export function seedFromClusterId(clusterId: string): number {
  const seed = parseInt(clusterId.slice(0, 8), 16);
  return Number.isInteger(seed) ? seed >>> 0 : 0;
}

/** The full `nft -f` script: replaces both tables atomically, in one batch. */
export function renderRuleset(input: RulesetInput): string {
  const { config, plan } = checkInput(input);
  const table = input.table ?? DEFAULT_TABLE;
  const rules = orderRules(config.rules);
  const multiple = rules.filter((r) => r.mode === "multiple");
  const ip = config.clusterIp;
  const mac = clusterMac(ip);
  const out: string[] = [
    `# appliance dataplane, epoch ${plan.epoch}: generated, do not edit`,
    `add table netdev ${table} { flags owner; }`,
    `delete table netdev ${table}`,
    `table netdev ${table} {`,
    `\tflags owner`,
    ``,
    `\tcounter ${INGRESS_COUNTER} {}`,
    ``,
    `\tchain ingress {`,
    `\t\ttype filter hook ingress device "${input.iface}" priority 0; policy accept;`,
    `\t\tip daddr ${ip} meta pkttype != host counter name "${INGRESS_COUNTER}" meta pkttype set host`,
    `\t}`,
    `}`,
    `add table ${FILTER_FAMILY} ${table} { flags owner; }`,
    `delete table ${FILTER_FAMILY} ${table}`,
    `table ${FILTER_FAMILY} ${table} {`,
    `\tflags owner`,
    ``,
  ];
  for (const r of rules) out.push(`\tcounter ${ruleCounter(r.id)} {}`);
  for (const name of [OUTSIDE_RULES_COUNTER, HANDED_IN_COUNTER, HANDED_OFF_COUNTER]) {
    out.push(`\tcounter ${name} {}`);
  }
  for (const name of DROP_COUNTERS) out.push(`\tcounter ${name} {}`);
  out.push(``, `\tset ${LEASE_SET} {`, `\t\ttype ipv4_addr`, `\t\tflags timeout`);
  const leased = holdsLease(plan);
  if (leased) out.push(`\t\telements = { ${leaseElement(input)} }`);
  out.push(`\t}`, ``);
  for (const r of multiple) {
    if (plan.accepting) {
      out.push(`\tset owned_${r.id} {`, `\t\ttype mark`);
      const elements = renderElements(plan.owned[r.id] ?? [], config.buckets);
      if (elements.length > 0) out.push(...wrap(`\t\telements = {`, elements, `\t\t}`, 2));
      out.push(`\t}`, ``);
    }
    out.push(`\tmap handoff_${r.id} {`, `\t\ttype mark : ipv4_addr`, `\t\tflags timeout`);
    const handoff = renderHandoffElements(input, r.id);
    if (handoff.length > 0) out.push(...wrap(`\t\telements = {`, handoff, `\t\t}`, 2));
    out.push(`\t}`, ``);
  }
  const refuse = plan.accepting ? undefined : drop("drop_not_accepting");
  out.push(
    `\tchain prerouting {`,
    `\t\ttype filter hook prerouting priority -150; policy accept;`,
    `\t\tip daddr ${ip} jump cluster_ip`,
    `\t}`,
    ``,
    `\tchain cluster_ip {`,
    `\t\tct state established,related accept`,
    `\t\tct state invalid ${drop("drop_invalid")}`,
  );
  if (!leased && multiple.length === 0) {
    out.push(`\t\t${refuse}`, `\t}`, `}`);
    return out.join("\n") + "\n";
  }
  out.push(`\t\ttcp flags & (fin | syn | rst | ack) != syn ${drop("drop_not_syn")}`);
  if (leased) {
    out.push(
      `\t\tip daddr != @${LEASE_SET} ${drop("drop_lease_expired")}`,
      `\t\tether daddr != ${mac} counter name "${HANDED_IN_COUNTER}" accept`,
    );
  }
  for (const r of rules) {
    out.push(
      `\t\t${match(r)} ${r.mode === "multiple" ? `goto rule_${r.id}` : refuse ?? verdict(r, plan)}`,
    );
  }
  out.push(
    refuse
      ? `\t\t${refuse}`
      : plan.defaultHost
      ? `\t\tcounter name "${OUTSIDE_RULES_COUNTER}" accept`
      : `\t\t${drop("drop_not_default_host")}`,
    `\t}`,
  );
  for (const r of multiple) {
    out.push(
      ``,
      `\tchain rule_${r.id} {`,
      `\t\tmeta mark set jhash ${hashKey(r)} mod ${config.buckets} seed ${hex(input.seed)}`,
    );
    if (plan.accepting) {
      out.push(`\t\tmeta mark @owned_${r.id} counter name "${ruleCounter(r.id)}" accept`);
    }
    out.push(
      `\t\tether daddr ${mac} dup to meta mark map @handoff_${r.id} device "${input.iface}" ` +
        `counter name "${HANDED_OFF_COUNTER}" drop`,
      `\t\t${refuse ?? drop("drop_not_owned")}`,
      `\t}`,
    );
  }
  out.push(`}`);
  return out.join("\n") + "\n";
}

/**
 * The batch that replaces the hand-off entries (flush and re-add, so entries for one bucket
 * never overlap): one per `multiple` rule, with each entry's remaining timeout.
 */
export function renderHandoffUpdate(input: RulesetInput): string {
  const { config } = checkInput(input);
  const table = input.table ?? DEFAULT_TABLE;
  const out: string[] = [];
  for (const r of orderRules(config.rules)) {
    if (r.mode !== "multiple") continue;
    out.push(`flush map ${FILTER_FAMILY} ${table} handoff_${r.id}`);
    const elements = renderHandoffElements(input, r.id);
    if (elements.length > 0) {
      out.push(
        ...wrap(`add element ${FILTER_FAMILY} ${table} handoff_${r.id} {`, elements, `}`, 0),
      );
    }
  }
  return out.length > 0 ? out.join("\n") + "\n" : "";
}

/**
 * The batch that renews the lease: flush set `lease` and add the cluster IP again with a fresh
 * timeout. One batch, so no packet sees the set empty. Empty when no lease is held (neither
 * accepting nor joining).
 */
export function renderLeaseRefresh(input: RulesetInput): string {
  if (!holdsLease(checkInput(input).plan)) return "";
  const table = input.table ?? DEFAULT_TABLE;
  return `flush set ${FILTER_FAMILY} ${table} ${LEASE_SET}\n` +
    `add element ${FILTER_FAMILY} ${table} ${LEASE_SET} { ${leaseElement(input)} }\n`;
}

/**
 * The batch that puts other buckets in the owned sets (same structure): per `multiple` rule,
 * flush its set and add this host's buckets. Empty when not accepting or without `multiple`
 * rules. The applier sends it in one batch with the lease and the hand-off entries, so a
 * released bucket leaves the set in the same transaction that starts forwarding it.
 */
export function renderOwnedUpdate(input: RulesetInput): string {
  const { config, plan } = checkInput(input);
  if (!plan.accepting) return "";
  const table = input.table ?? DEFAULT_TABLE;
  const out: string[] = [];
  for (const r of orderRules(config.rules)) {
    if (r.mode !== "multiple") continue;
    out.push(`flush set ${FILTER_FAMILY} ${table} owned_${r.id}`);
    const elements = renderElements(plan.owned[r.id] ?? [], config.buckets);
    if (elements.length > 0) {
      out.push(
        ...wrap(`add element ${FILTER_FAMILY} ${table} owned_${r.id} {`, elements, `}`, 0),
      );
    }
  }
  return out.length > 0 ? out.join("\n") + "\n" : "";
}

/** Deletes both tables (they must exist: the applier sends this only after an apply). */
export function renderTeardown(table: string = DEFAULT_TABLE): string {
  checkTable(table);
  return `delete table netdev ${table}\ndelete table ${FILTER_FAMILY} ${table}\n`;
}

/**
 * Deletes the tables named `table` found in a `list tables` listing (leftovers of an earlier
 * run); empty when there are none.
 */
export function renderLeftoverCleanup(listing: string, table: string = DEFAULT_TABLE): string {
  checkTable(table);
  const found = new Set(listing.split("\n").map((l) => l.trim()));
  // `inet`: where versions before the hand-off kept the filter table.
  return ["netdev", FILTER_FAMILY, "inet", "arp"]
    .filter((family) => found.has(`table ${family} ${table}`))
    .map((family) => `delete table ${family} ${table}\n`)
    .join("");
}

/** Rules in match order: the `default` rule last, narrower port ranges first, tcp/udp before both. */
export function orderRules(rules: PortRule[]): PortRule[] {
  const key = (
    r: PortRule,
  ) => [r.id === "default" ? 1 : 0, r.portHi - r.portLo, r.protocol === "both" ? 1 : 0, r.portLo];
  return [...rules].sort((a, b) => {
    const ka = key(a), kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i] - kb[i];
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

/** Whether the host takes new flows at all (its own, or, joining, those forwarded to it). */
function holdsLease(plan: BucketPlan): boolean {
  return plan.accepting || !!plan.joining;
}

function leaseElement(input: RulesetInput): string {
  return `${input.config.clusterIp} timeout ${input.leaseMs}ms`;
}

/**
 * Buckets as set elements, one each, in order; `suffix` follows each (a timeout, a value).
 * Not intervals: with an interval set in the table, libnftables reads every element back from
 * the kernel before each `flush set`, which made a lease renewal 12 times dearer (0.43 ms
 * instead of 0.04 with half of 1024 buckets scattered), and refilling a set 2 times dearer.
 */
function renderElements(buckets: number[], count: number, suffix = ""): string[] {
  for (const b of buckets) {
    if (!Number.isInteger(b) || b < 0 || b >= count) {
      throw new Error(`bucket ${b} is outside 0..${count - 1} (the plan and config disagree)`);
    }
  }
  return [...new Set(buckets)].sort((a, b) => a - b).map((b) => `${b}${suffix}`);
}

/** A rule's hand-off entries as map elements, grouped by (peer, timeout). */
function renderHandoffElements(input: RulesetInput, rule: string): string[] {
  const groups = new Map<string, number[]>();
  for (const e of input.handoff ?? []) {
    if (e.rule !== rule) continue;
    if (!isIPv4(e.to)) throw new Error(`hand-off address "${e.to}" is not an IPv4 address`);
    if (!Number.isInteger(e.timeoutMs) || e.timeoutMs < 1) {
      throw new Error(`hand-off timeout must be a whole number of ms above 0, got ${e.timeoutMs}`);
    }
    const key = `${e.timeoutMs} ${e.to}`;
    groups.set(key, [...groups.get(key) ?? [], e.bucket]);
  }
  const out: string[] = [];
  for (const [key, buckets] of groups) {
    const [timeout, to] = key.split(" ");
    out.push(...renderElements(buckets, input.config.buckets, ` timeout ${timeout}ms : ${to}`));
  }
  return out;
}

/** `head` (indented by `depth` tabs) then the items: on one line if short, else wrapped under it. */
function wrap(head: string, items: string[], tail: string, depth: number): string[] {
  const one = `${head} ${items.join(", ")} ${tail.trim()}`;
  if (one.replaceAll("\t", "        ").length <= 100) return [one];
  const indent = "\t".repeat(depth + 1);
  const lines: string[] = [];
  let line = "";
  for (const item of items) {
    if (line && (indent + line + item).replaceAll("\t", "        ").length > 96) {
      lines.push(`${indent}${line.trimEnd()}`);
      line = "";
    }
    line += `${item}, `;
  }
  lines.push(`${indent}${line.slice(0, -2)}`);
  return [head, ...lines, tail];
}

function drop(reason: typeof DROP_COUNTERS[number]): string {
  return `counter name "${reason}" drop`;
}

function match(r: PortRule): string {
  const all = r.portLo === 0 && r.portHi === 65535;
  const ports = r.portLo === r.portHi ? `${r.portLo}` : `${r.portLo}-${r.portHi}`;
  if (r.protocol === "both") {
    return all ? `meta l4proto { tcp, udp }` : `meta l4proto { tcp, udp } th dport ${ports}`;
  }
  return all ? `meta l4proto ${r.protocol}` : `${r.protocol} dport ${ports}`;
}

function verdict(r: PortRule, plan: BucketPlan): string {
  if (r.mode === "multiple") return `goto rule_${r.id}`;
  if (r.mode === "disabled") return drop("drop_disabled");
  return plan.single[r.id]
    ? `counter name "${ruleCounter(r.id)}" accept`
    : drop("drop_not_single_owner");
}

/** What a flow hashes on: affinity none = address and port, single = address, network = /24. */
function hashKey(r: PortRule): string {
  if (r.affinity === "single") return `ip saddr`;
  if (r.affinity === "network") return `ip saddr & 255.255.255.0`;
  return `ip saddr . th sport`;
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, "0")}`;
}

/** Rejects input that would make a broken (or injected) script, saying what to fix. */
function checkInput(input: RulesetInput): RulesetInput {
  const { config } = input;
  checkTable(input.table ?? DEFAULT_TABLE);
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(input.iface)) {
    throw new Error(`interface name "${input.iface}" is not valid (see: ip link)`);
  }
  if (!isIPv4(config.clusterIp)) {
    throw new Error(`clusterIp "${config.clusterIp}" is not an IPv4 address`);
  }
  if (!Number.isInteger(input.leaseMs) || input.leaseMs < 1) {
    throw new Error(`lease must be a whole number of milliseconds above 0, got ${input.leaseMs}`);
  }
  if (!Number.isInteger(config.buckets) || config.buckets < 1) {
    throw new Error(`buckets must be a positive integer, got ${config.buckets}`);
  }
  for (const r of config.rules) {
    if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(r.id)) {
      throw new Error(`rule id "${r.id}" must be 1-32 of a-z 0-9 _ - (fix the config's rules)`);
    }
  }
  return input;
}

function checkTable(table: string) {
  if (!/^[a-z][a-z0-9_]{0,31}$/.test(table)) {
    throw new Error(`table name "${table}" must be 1-32 of a-z 0-9 _, starting with a letter`);
  }
}
