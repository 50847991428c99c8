/**
 * The cluster interface's condition, from /sys/class/net: missing, down (or without
 * carrier), or up; with its ifindex, so a re-created interface can be told apart from one
 * that only went down and up.
 */
export interface InterfaceCondition {
  /** Why the host cannot serve on it, or null when it is usable. */
  fault: string | null;
  ifindex: number | null;
}

export function readInterface(iface: string, root = "/sys/class/net"): InterfaceCondition {
  let operstate: string, ifindex: number;
  try {
    operstate = Deno.readTextFileSync(`${root}/${iface}/operstate`).trim();
    ifindex = Number(Deno.readTextFileSync(`${root}/${iface}/ifindex`).trim());
  } catch {
    return { fault: `interface "${iface}" not found (see: ip link)`, ifindex: null };
  }
  return { fault: describe(iface, operstate), ifindex };
}

/** Pure: the fault an operstate means, or null for a usable interface. */
export function describe(iface: string, operstate: string): string | null {
  if (operstate === "up" || operstate === "unknown") return null;
  if (operstate === "lowerlayerdown") {
    return `interface "${iface}" has no carrier (cable unplugged or peer down; see: ip link show ${iface})`;
  }
  return `interface "${iface}" is ${operstate} (see: ip link set ${iface} up)`;
}
