/**
 * Ethernet + ARP frames (RFC 826) for IPv4 over Ethernet, built and parsed by pure
 * functions.
 *
 *   0      6      12   14                                                       42     60
 *   | dst  | src  |0806| htype 1 | ptype 0800 | 6 | 4 | op | sha | spa | tha | tpa | pad |
 *
 * Built frames are padded with zeros to 60 bytes, the Ethernet minimum without FCS: a
 * packet socket sends exactly what it is given and not every driver pads (veth does not).
 *
 * The Ethernet source (`ethSrcMac`) is kept apart from the ARP sender MAC because in
 * shared mode they differ: the ARP payload carries the multicast cluster MAC while the
 * frame itself must come from the interface's own unicast MAC — a bridge drops frames
 * from a group address. It defaults to the ARP sender MAC and must not be multicast.
 *
 * Pure: no I/O.
 */
import { formatIPv4, formatMac, isMulticastMac, parseIPv4, parseMac } from "./cluster_mac.ts";

export type ArpOp = "request" | "reply";

/** A parsed ARP frame; MACs as "aa:bb:cc:dd:ee:ff", addresses as dotted quads. */
export interface ArpPacket {
  op: ArpOp;
  /** Ethernet destination and source of the frame. */
  ethDst: string;
  ethSrc: string;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export const ETH_P_ARP = 0x0806;
export const BROADCAST_MAC = "ff:ff:ff:ff:ff:ff";
export const ZERO_MAC = "00:00:00:00:00:00";
/** Ethernet header (14) + ARP for IPv4 (28). */
export const ARP_FRAME_LEN = 42;
/** Minimum Ethernet frame without FCS; built frames are zero-padded to it. */
export const ETH_MIN_FRAME_LEN = 60;

const OP_CODE: Record<ArpOp, number> = { request: 1, reply: 2 };

/** A reply telling `dstMac`/`dstIp` that `srcIp` is at `srcMac`, sent to `dstMac`. */
export function buildArpReply(a: {
  srcMac: string;
  srcIp: string;
  dstMac: string;
  dstIp: string;
  ethSrcMac?: string;
}): Uint8Array {
  return frame({
    op: "reply",
    ethDst: a.dstMac,
    ethSrc: a.ethSrcMac ?? a.srcMac,
    senderMac: a.srcMac,
    senderIp: a.srcIp,
    targetMac: a.dstMac,
    targetIp: a.dstIp,
  });
}

/** A broadcast request asking who has `targetIp`. */
export function buildArpRequest(a: {
  srcMac: string;
  srcIp: string;
  targetIp: string;
  ethSrcMac?: string;
}): Uint8Array {
  return frame({
    op: "request",
    ethDst: BROADCAST_MAC,
    ethSrc: a.ethSrcMac ?? a.srcMac,
    senderMac: a.srcMac,
    senderIp: a.srcIp,
    targetMac: ZERO_MAC,
    targetIp: a.targetIp,
  });
}

/**
 * A gratuitous ARP (an RFC 5227 announcement): a broadcast request whose target IP is the
 * sender IP, so every neighbour that knows `ip` (or accepts gratuitous ARP) updates it.
 */
export function buildGratuitousArp(a: { mac: string; ip: string; ethSrcMac?: string }): Uint8Array {
  return buildArpRequest({ srcMac: a.mac, srcIp: a.ip, targetIp: a.ip, ethSrcMac: a.ethSrcMac });
}

/** An RFC 5227 probe: "who has `ip`?" from sender IP 0.0.0.0, so no neighbour learns it. */
export function buildArpProbe(a: { mac: string; ip: string }): Uint8Array {
  return buildArpRequest({ srcMac: a.mac, srcIp: "0.0.0.0", targetIp: a.ip });
}

/** The ARP packet in `frame`, or undefined if it is short, not ARP, not IPv4/Ethernet. */
export function parseArp(frame: Uint8Array): ArpPacket | undefined {
  if (frame.length < ARP_FRAME_LEN) return undefined;
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (v.getUint16(12) !== ETH_P_ARP) return undefined;
  if (v.getUint16(14) !== 1 || v.getUint16(16) !== 0x0800) return undefined;
  if (frame[18] !== 6 || frame[19] !== 4) return undefined;
  const code = v.getUint16(20);
  const op = code === 1 ? "request" : code === 2 ? "reply" : undefined;
  if (op === undefined) return undefined;
  return {
    op,
    ethDst: formatMac(frame, 0),
    ethSrc: formatMac(frame, 6),
    senderMac: formatMac(frame, 22),
    senderIp: formatIPv4(frame, 28),
    targetMac: formatMac(frame, 32),
    targetIp: formatIPv4(frame, 38),
  };
}

function frame(p: ArpPacket): Uint8Array {
  if (isMulticastMac(p.ethSrc)) {
    throw new Error(
      `cannot send an ARP frame from the group MAC ${p.ethSrc}: ` +
        `pass ethSrcMac (the interface's own MAC) as the Ethernet source`,
    );
  }
  const out = new Uint8Array(ETH_MIN_FRAME_LEN);
  const v = new DataView(out.buffer);
  out.set(parseMac(p.ethDst), 0);
  out.set(parseMac(p.ethSrc), 6);
  v.setUint16(12, ETH_P_ARP);
  v.setUint16(14, 1); // htype: Ethernet
  v.setUint16(16, 0x0800); // ptype: IPv4
  out[18] = 6; // hlen
  out[19] = 4; // plen
  v.setUint16(20, OP_CODE[p.op]);
  out.set(parseMac(p.senderMac), 22);
  out.set(parseIPv4(p.senderIp), 28);
  out.set(parseMac(p.targetMac), 32);
  out.set(parseIPv4(p.targetIp), 38);
  return out;
}
