/** This host's address on the cluster interface, with errors that say how to check. */
import { isIPv4 } from "./cluster/config.ts";

export interface InterfaceAddress {
  name: string;
  address: string;
  prefix: number;
}

/** IPv4 networks of `name`; throws if the interface has none or does not exist. */
export function interfaceNetworks(
  name: string,
  list = Deno.networkInterfaces(),
): InterfaceAddress[] {
  const mine = list.filter((i) => i.name === name);
  if (mine.length === 0) {
    throw new Error(`interface "${name}" not found (see: ip link)`);
  }
  const v4 = mine.filter((i) => i.family === "IPv4");
  if (v4.length === 0) {
    throw new Error(`interface "${name}" has no IPv4 address (see: ip addr show ${name})`);
  }
  return v4.map((i) => ({ name, address: i.address, prefix: Number(i.cidr.split("/")[1]) }));
}

/**
 * The address to use on `name`: `wanted` if given and inside one of its networks, else
 * the interface's first IPv4 address.
 */
export function pickAddress(
  name: string,
  wanted?: string,
  list?: Deno.NetworkInterfaceInfo[],
): string {
  const nets = interfaceNetworks(name, list);
  if (wanted === undefined) return nets[0].address;
  if (!isIPv4(wanted)) throw new Error(`--address "${wanted}" is not an IPv4 address`);
  if (!nets.some((n) => sameNetwork(n.address, wanted, n.prefix))) {
    throw new Error(
      `--address ${wanted} is not on interface "${name}" (${
        nets.map((n) => `${n.address}/${n.prefix}`).join(", ")
      })`,
    );
  }
  return wanted;
}

function sameNetwork(a: string, b: string, prefix: number): boolean {
  const n = (s: string) => s.split(".").reduce((acc, p) => (acc << 8) + Number(p), 0) >>> 0;
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return ((n(a) & mask) >>> 0) === ((n(b) & mask) >>> 0);
}
