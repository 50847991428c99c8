/**
 * Keeping the kernel from answering ARP for the cluster IP, so the agent's responder is
 * the only voice for it (arp_responder.ts). Pure: returns the nft script and the sysctl
 * writes; whoever owns the nftables batch applies them.
 *
 * How: an nftables table of the `arp` family, plus one sysctl.
 *
 * - input: drop ARP requests whose target is the cluster IP before the kernel's ARP code
 *   sees them. A packet socket still gets them: taps run before the ARP input hook.
 * - output: drop any ARP the kernel sends *from* the cluster IP (its replies, and the
 *   gratuitous ARP it sends on link up with arp_notify=1) so it never tells the network
 *   the cluster IP is at the host's own MAC. Frames from packet sockets skip this hook,
 *   so the agent's own replies and announcements pass.
 * - net.ipv4.conf.<iface>.arp_announce = 2: when the kernel resolves a neighbour for a
 *   packet sent from the cluster IP (a reply to a client), it asks from the host's own
 *   address on that subnet instead, so resolution works and the output rule never bites.
 *
 * Why not arp_ignore: the cluster IP is usually inside the hosts' subnet, and
 * arp_ignore=1/2 still answer for it then (the target is on the incoming interface, and
 * the sender is in a subnet of it); arp_ignore=8 would silence the host's own address too.
 *
 * The table is the agent's alone and is replaced whole: `add table` (create if missing),
 * `delete table`, then the full definition, in one atomic nft batch. Rules match on any
 * interface: the kernel would otherwise answer for the cluster IP on every interface.
 */
import { parseIPv4 } from "./cluster_mac.ts";

/** Name of the agent's `arp` family table. */
export const ARP_TABLE = "appliance";

export interface SysctlWrite {
  /** A file under /proc/sys (paths, not dotted keys: interface names may hold dots). */
  path: string;
  value: string;
}

export interface KernelArpSuppression {
  /** An nft script (for `nft -f -` or libnftables) that replaces the table atomically. */
  nft: string;
  sysctls: SysctlWrite[];
}

/**
 * What keeps the kernel silent about `clusterIp` on a host whose cluster NIC is `iface`.
 * `owner`: declare the table with `flags owner`, as the agent's other tables are when it
 * applies them through libnftables (the kernel then drops the table when the agent's
 * netlink socket closes); leave it false for `nft -f`, which would drop it at once.
 */
export function kernelArpSuppression(
  a: { iface: string; clusterIp: string; owner?: boolean },
): KernelArpSuppression {
  parseIPv4(a.clusterIp);
  if (!/^[^\s/"]{1,15}$/.test(a.iface) || a.iface === "." || a.iface === "..") {
    throw new Error(`"${a.iface}" is not an interface name (see: ip link)`);
  }
  const nft = [
    `add table arp ${ARP_TABLE}${a.owner ? " { flags owner; }" : ""}`,
    `delete table arp ${ARP_TABLE}`,
    `table arp ${ARP_TABLE} {`,
    ...(a.owner ? [`\tflags owner`, ``] : []),
    `\tchain input {`,
    `\t\ttype filter hook input priority filter; policy accept;`,
    `\t\tarp operation request arp daddr ip ${a.clusterIp} counter drop ` +
    `comment "cluster IP: the agent answers"`,
    `\t}`,
    `\tchain output {`,
    `\t\ttype filter hook output priority filter; policy accept;`,
    `\t\tarp saddr ip ${a.clusterIp} counter drop comment "cluster IP: only the agent speaks for it"`,
    `\t}`,
    `}`,
    ``,
  ].join("\n");
  return {
    nft,
    sysctls: [{ path: `/proc/sys/net/ipv4/conf/${a.iface}/arp_announce`, value: "2" }],
  };
}

/** An nft script that removes the table (and succeeds if it is not there). */
export function removeArpSuppression(): string {
  return `add table arp ${ARP_TABLE}\ndelete table arp ${ARP_TABLE}\n`;
}
