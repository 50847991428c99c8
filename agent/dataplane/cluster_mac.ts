/**
 * MAC and IPv4 address text <-> bytes, and the cluster MAC of shared mode.
 *
 * Shared mode works as NLB's multicast mode: every host answers ARP for the cluster IP
 * with one multicast MAC, `03:bf` followed by the four bytes of the cluster IP, so a
 * switch or bridge floods the clients' frames to every host. The first byte 0x03 has the
 * group (multicast) bit and the locally-administered bit set.
 *
 * Pure: no I/O.
 */

/** The MAC every host answers with in shared mode: "03:bf:c6:12:00:64" for 198.18.0.100. */
export function clusterMac(ip: string): string {
  return formatMac(Uint8Array.of(0x03, 0xbf, ...parseIPv4(ip)));
}

/** "aa:bb:cc:dd:ee:ff" (also with "-", any case) -> 6 bytes; throws with the expected form. */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) {
    throw new Error(`"${text}" is not a MAC address (write six hex pairs: 02:00:5e:10:00:01)`);
  }
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** 6 bytes (from `offset`) -> "aa:bb:cc:dd:ee:ff", lower case. */
export function formatMac(bytes: Uint8Array, offset = 0): string {
  if (bytes.length < offset + 6) throw new Error(`a MAC address needs 6 bytes`);
  return Array.from(bytes.subarray(offset, offset + 6), hex2).join(":");
}

/** True for a group address (the low bit of the first byte), which no frame may come from. */
export function isMulticastMac(mac: string | Uint8Array): boolean {
  const bytes = typeof mac === "string" ? parseMac(mac) : mac;
  return (bytes[0] & 1) === 1;
}

/** "198.18.0.100" -> 4 bytes; throws with the expected form. */
export function parseIPv4(text: string): Uint8Array {
  const parts = text.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^(0|[1-9][0-9]{0,2})$/.test(p) || +p > 255)) {
    throw new Error(`"${text}" is not an IPv4 address (write four numbers 0-255: 198.18.0.100)`);
  }
  return Uint8Array.from(parts, Number);
}

/** 4 bytes (from `offset`) -> "198.18.0.100". */
export function formatIPv4(bytes: Uint8Array, offset = 0): string {
  if (bytes.length < offset + 4) throw new Error(`an IPv4 address needs 4 bytes`);
  return Array.from(bytes.subarray(offset, offset + 4)).join(".");
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, "0");
}
