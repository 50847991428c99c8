/**
 * Peer API request authentication: an HMAC-SHA256 under the cluster key over the method,
 * path, a timestamp and the body's hash, carried in the Authorization header:
 *
 *   Authorization: Appliance <hostId>.<unixMs>.<hex hmac>
 *
 * TLS (pinned to the cluster CA) keeps it private; the HMAC proves the caller holds the
 * cluster key; the timestamp window (±30 s) bounds replays.
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";

export const AUTH_WINDOW_MS = 30_000;

export function signRequest(
  key: Uint8Array,
  hostId: number,
  method: string,
  path: string,
  body: string,
  now: number,
): string {
  return `Appliance ${hostId}.${now}.${mac(key, method, path, body, now)}`;
}

export type AuthResult = { ok: true; hostId: number } | { ok: false; reason: string };

export function verifyRequest(
  key: Uint8Array,
  header: string | undefined | null,
  method: string,
  path: string,
  body: string,
  now: number,
): AuthResult {
  const m = /^Appliance (\d+)\.(\d+)\.([0-9a-f]{64})$/.exec(header ?? "");
  if (!m) return { ok: false, reason: "missing or malformed Authorization header" };
  const ts = Number(m[2]);
  if (Math.abs(now - ts) > AUTH_WINDOW_MS) {
    return { ok: false, reason: "request timestamp outside ±30 s: check the hosts' clocks (NTP)" };
  }
  const want = Buffer.from(mac(key, method, path, body, ts), "hex");
  if (!timingSafeEqual(want, Buffer.from(m[3], "hex"))) {
    return { ok: false, reason: "bad signature: the caller does not hold this cluster's key" };
  }
  return { ok: true, hostId: Number(m[1]) };
}

function mac(key: Uint8Array, method: string, path: string, body: string, ts: number): string {
  const bodyHash = createHash("sha256").update(body).digest("hex");
  return createHmac("sha256", key).update(`${method}\n${path}\n${ts}\n${bodyHash}`).digest("hex");
}
