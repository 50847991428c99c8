/**
 * Heartbeat wire format: 112 bytes, big-endian, authenticated with HMAC-SHA256 under the
 * cluster key.
 *
 *   off size field
 *    0   2   magic 0xA7 0x1C
 *    2   1   version (2)
 *    3   1   flags (bit 0 LEAVING: bow-out; bit 1 AWAITING_MAP: newcomer without a map;
 *                   bit 2 UNHEALTHY: its service fails the health check; bit 3
 *                   CONTENT_ERROR: it cannot stage the offered generation; bit 4
 *                   CONTENT_STALE: strict consistency and behind: out of the bucket map)
 *    4   8   cluster id
 *   12   4   host id
 *   16   4   incarnation (bumped on every agent start)
 *   20   4   sequence (per incarnation)
 *   24   1   state (see WIRE_STATES)
 *   25   1   priority
 *   26   1   weight
 *   27   1   reserved (0)
 *   28   4   config version
 *   32   8   config digest
 *   40   4   epoch of the sender's view
 *   44   8   members digest (the set of hosts eligible for buckets)
 *   52   8   view digest (members + bucket maps)
 *   60   4   heard bitmap: bit i = "I heard host i (by config index) recently"
 *   64   4   content generation offered (the exporter's newest; 0 from importers)
 *   68   4   content generation committed (the exporter's "flip now"; 0 from importers)
 *   72   4   content generation staged (fetched, fsync'd, ready to flip)
 *   76   4   content generation served
 *   80  32   HMAC-SHA256 over bytes 0..79
 *
 * Pure: no I/O. node:crypto's HMAC is deterministic.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

export const HEARTBEAT_BYTES = 112;
const BODY = 80;
const MAGIC0 = 0xa7, MAGIC1 = 0x1c;
export const WIRE_VERSION = 2;

export const FLAG_LEAVING = 1;
export const FLAG_AWAITING_MAP = 2;
/** The host's local service fails its health check: it takes no new connections. */
export const FLAG_UNHEALTHY = 4;
/** The host could not stage the offered content generation (disk full, an error). */
export const FLAG_CONTENT_ERROR = 8;
/** Strict consistency: the host serves an old generation and stays out of the bucket map. */
export const FLAG_CONTENT_STALE = 16;
/** Flags that keep a host out of the bucket map. */
export const FLAGS_NOT_SERVING = FLAG_UNHEALTHY | FLAG_CONTENT_STALE;

/** A host's self-reported state, as carried on the wire. */
export const WIRE_STATES = [
  "converging",
  "converged",
  "draining",
  "stopped",
  "suspended",
  "fault",
] as const;
export type WireState = typeof WIRE_STATES[number];

export interface Heartbeat {
  flags: number;
  clusterId: Uint8Array; // 8 bytes
  hostId: number;
  incarnation: number;
  seq: number;
  state: WireState;
  priority: number;
  weight: number;
  configVersion: number;
  configDigest: Uint8Array; // 8
  epoch: number;
  membersDigest: Uint8Array; // 8
  viewDigest: Uint8Array; // 8
  heard: number; // u32 bitmap
  content: ContentGens;
}

/** Replication's generation numbers, as heartbeats carry them. */
export interface ContentGens {
  offered: number;
  committed: number;
  staged: number;
  served: number;
}

/** Whether two sets of generation numbers are equal. */
export function sameContent(a: ContentGens, b: ContentGens): boolean {
  return a.offered === b.offered && a.committed === b.committed && a.staged === b.staged &&
    a.served === b.served;
}

/** Why a packet was dropped before it reached membership. */
export type DecodeError = "malformed" | "version" | "foreign-cluster" | "forged";

export function encodeHeartbeat(hb: Heartbeat, key: Uint8Array): Uint8Array {
  const buf = new Uint8Array(HEARTBEAT_BYTES);
  const dv = new DataView(buf.buffer);
  buf[0] = MAGIC0, buf[1] = MAGIC1, buf[2] = WIRE_VERSION, buf[3] = hb.flags & 0xff;
  buf.set(hb.clusterId.subarray(0, 8), 4);
  dv.setUint32(12, hb.hostId >>> 0);
  dv.setUint32(16, hb.incarnation >>> 0);
  dv.setUint32(20, hb.seq >>> 0);
  buf[24] = WIRE_STATES.indexOf(hb.state);
  buf[25] = hb.priority, buf[26] = hb.weight, buf[27] = 0;
  dv.setUint32(28, hb.configVersion >>> 0);
  buf.set(hb.configDigest.subarray(0, 8), 32);
  dv.setUint32(40, hb.epoch >>> 0);
  buf.set(hb.membersDigest.subarray(0, 8), 44);
  buf.set(hb.viewDigest.subarray(0, 8), 52);
  dv.setUint32(60, hb.heard >>> 0);
  dv.setUint32(64, hb.content.offered >>> 0);
  dv.setUint32(68, hb.content.committed >>> 0);
  dv.setUint32(72, hb.content.staged >>> 0);
  dv.setUint32(76, hb.content.served >>> 0);
  buf.set(mac(buf.subarray(0, BODY), key), BODY);
  return buf;
}

/**
 * Decodes and authenticates. The cluster id is checked before the MAC so that another
 * cluster on the same LAN is told apart from a forgery.
 */
export function decodeHeartbeat(
  buf: Uint8Array,
  clusterId: Uint8Array,
  key: Uint8Array,
): { ok: true; hb: Heartbeat } | { ok: false; reason: DecodeError; hostId?: number } {
  if (buf.length !== HEARTBEAT_BYTES || buf[0] !== MAGIC0 || buf[1] !== MAGIC1) {
    return { ok: false, reason: "malformed" };
  }
  if (buf[2] !== WIRE_VERSION) return { ok: false, reason: "version" };
  if (!equalBytes(buf.subarray(4, 12), clusterId)) return { ok: false, reason: "foreign-cluster" };
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const hostId = dv.getUint32(12);
  if (!timingSafeEqual(mac(buf.subarray(0, BODY), key), buf.subarray(BODY))) {
    return { ok: false, reason: "forged", hostId };
  }
  const state = WIRE_STATES[buf[24]];
  if (state === undefined || buf[27] !== 0) return { ok: false, reason: "malformed" };
  return {
    ok: true,
    hb: {
      flags: buf[3],
      clusterId: buf.slice(4, 12),
      hostId,
      incarnation: dv.getUint32(16),
      seq: dv.getUint32(20),
      state,
      priority: buf[25],
      weight: buf[26],
      configVersion: dv.getUint32(28),
      configDigest: buf.slice(32, 40),
      epoch: dv.getUint32(40),
      membersDigest: buf.slice(44, 52),
      viewDigest: buf.slice(52, 60),
      heard: dv.getUint32(60),
      content: {
        offered: dv.getUint32(64),
        committed: dv.getUint32(68),
        staged: dv.getUint32(72),
        served: dv.getUint32(76),
      },
    },
  };
}

function mac(body: Uint8Array, key: Uint8Array): Uint8Array {
  return createHmac("sha256", key).update(body).digest();
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
