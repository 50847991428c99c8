/**
 * What the ARP responder does with one received frame, and what counts as a conflict
 * during a probe. Pure: the adapter (arp_responder.ts) only sends what this returns and
 * counts the reasons.
 *
 *   frame --parse--> not ARP ...................................... ignore "notArp"
 *                    sent by this host (seen again, e.g. on lo) ...... ignore "ownFrame"
 *                    a reply ......................................... ignore "notRequest"
 *                    a request for another IP ........................ ignore "otherTarget"
 *                    a gratuitous request for the cluster IP ......... ignore "announcement"
 *                    a request for the cluster IP ...................... reply with answerMac
 *
 * Any frame whose sender IP is the cluster IP but whose sender MAC is neither ours nor
 * the answer MAC also reports `conflict`: another machine claims the cluster IP.
 */
import { type ArpPacket, buildArpReply } from "./arp_frame.ts";

/** Who this host is on the wire for one cluster IP. */
export interface ArpIdentity {
  /** The cluster IP answered for. */
  ip: string;
  /** The MAC put in replies: the cluster MAC (shared mode) or the host's own MAC (failover). */
  answerMac: string;
  /** The interface's own MAC: the Ethernet source of every frame this host sends. */
  hostMac: string;
}

export type IgnoreReason = "notArp" | "ownFrame" | "notRequest" | "otherTarget" | "announcement";
export const IGNORE_REASONS: readonly IgnoreReason[] = [
  "notArp",
  "ownFrame",
  "notRequest",
  "otherTarget",
  "announcement",
];

export type ArpDecision =
  | { kind: "reply"; frame: Uint8Array; conflict?: undefined }
  | { kind: "ignore"; reason: IgnoreReason; conflict?: string };

/** The decision for one received frame, already parsed (undefined if it was not ARP). */
export function answerArp(p: ArpPacket | undefined, me: ArpIdentity): ArpDecision {
  if (p === undefined) return { kind: "ignore", reason: "notArp" };
  if (p.ethSrc === me.hostMac) return { kind: "ignore", reason: "ownFrame" };
  const conflict = p.senderIp === me.ip && p.senderMac !== me.answerMac &&
      p.senderMac !== me.hostMac
    ? p.senderMac
    : undefined;
  const ignore = (reason: IgnoreReason): ArpDecision =>
    conflict === undefined ? { kind: "ignore", reason } : { kind: "ignore", reason, conflict };
  if (p.op !== "request") return ignore("notRequest");
  if (p.targetIp !== me.ip) return ignore("otherTarget");
  if (p.senderIp === p.targetIp) return ignore("announcement");
  const frame = buildArpReply({
    srcMac: me.answerMac,
    srcIp: me.ip,
    dstMac: p.senderMac,
    dstIp: p.senderIp,
    ethSrcMac: me.hostMac,
  });
  return { kind: "reply", frame };
}

/**
 * During a probe of `ip` from `hostMac` (RFC 5227 section 2.1.1): the MAC of another
 * machine using or probing for `ip`, or undefined. A reply or request *from* `ip`, or
 * another host's probe *for* `ip`, is a conflict. In shared mode a peer answers with the
 * cluster MAC: the caller tells that apart from a stranger by comparing `by`.
 */
export function probeConflict(p: ArpPacket, ip: string, hostMac: string): string | undefined {
  if (p.ethSrc === hostMac || p.senderMac === hostMac) return undefined;
  if (p.senderIp === ip) return p.senderMac;
  if (p.op === "request" && p.senderIp === "0.0.0.0" && p.targetIp === ip) return p.senderMac;
  return undefined;
}
