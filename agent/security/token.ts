/**
 * Join tokens: single-use secrets that let a new host join, and that pin the
 * cluster CA so the joiner can trust the member it dials before it holds the CA.
 *
 *     apl1.<id>.<secret>.<caFingerprint>
 *      │     │     │           └─ 43 chars: base64url SHA-256 of the CA cert's DER (full 32 bytes)
 *      │     │     └─ 22 chars: base64url of 16 random bytes (128 bits)
 *      │     └─ 12 chars: base64url of 9 random bytes; the key of the stored record
 *      └─ format version
 *
 * Every piece is unpadded base64url, so the token is one 84-character word with no
 * characters a shell or a URL would mangle. The cluster stores only the record
 * (`id`, the SHA-256 of the secret, timestamps), never the secret itself. Making a
 * token single-use is the job of the token store: it deletes the record when the
 * join succeeds. Pure: no clock (callers pass `now`), randomness from the CSPRNG.
 */
import { Buffer } from "node:buffer";
import { createHash, timingSafeEqual } from "node:crypto";

export { parseDuration } from "./duration.ts";

/** What the cluster keeps for an outstanding token. */
export interface TokenRecord {
  /** The token's id, as it appears in the token. */
  id: string;
  /** Lowercase hex SHA-256 of the secret string (its base64url text, UTF-8). */
  secretHash: string;
  /** Epoch ms after which the token is refused. */
  expiresAt: number;
  /** Epoch ms when the token was created. */
  createdAt: number;
}

export type ParsedToken =
  | { ok: true; id: string; secret: string; caFingerprint: string }
  | { ok: false; reason: string };

const VERSION = "apl1";
const ID_BYTES = 9;
const SECRET_BYTES = 16;
const FINGERPRINT_BYTES = 32;
const HOW_TO_FIX = "copy the whole token printed by `appliance token create`";

/**
 * Creates a token for the CA whose fingerprint (lowercase hex SHA-256, as
 * `certFingerprint` returns) is `caFingerprint`, valid for `ttlMs` from `now`.
 */
export function createToken(
  opts: { caFingerprint: string; now: number; ttlMs: number },
): { token: string; record: TokenRecord } {
  const { caFingerprint, now, ttlMs } = opts;
  if (!/^[0-9a-f]{64}$/i.test(caFingerprint)) {
    throw new Error(
      `cannot create a token: the CA fingerprint "${caFingerprint}" is not 64 hex characters ` +
        "(pass certFingerprint(ca.pem))",
    );
  }
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new Error(
      `cannot create a token: the lifetime ${ttlMs} ms is not a positive whole number ` +
        "(use a duration such as 30m, 1h or 2d)",
    );
  }
  const id = toBase64Url(crypto.getRandomValues(new Uint8Array(ID_BYTES)));
  const secret = toBase64Url(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
  const fingerprint = toBase64Url(hexToBytes(caFingerprint.toLowerCase()));
  return {
    token: [VERSION, id, secret, fingerprint].join("."),
    record: { id, secretHash: sha256Hex(secret), expiresAt: now + ttlMs, createdAt: now },
  };
}

/** Splits a token into its pieces; the CA fingerprint comes back as lowercase hex. */
export function parseToken(s: string): ParsedToken {
  const parts = s.trim().split(".");
  if (parts.length !== 4 || !parts[0].startsWith("apl")) {
    return fail(`token is malformed: expected 4 dot-separated parts starting with ${VERSION}`);
  }
  const [version, id, secret, fingerprint] = parts;
  if (version !== VERSION) {
    return {
      ok: false,
      reason: `token version "${version}" is not supported, only ${VERSION} is ` +
        "(create a new token on a member running this appliance version)",
    };
  }
  if (!isBase64UrlOf(id, ID_BYTES)) return fail("token id is malformed");
  if (!isBase64UrlOf(secret, SECRET_BYTES)) return fail("token secret is malformed");
  if (!isBase64UrlOf(fingerprint, FINGERPRINT_BYTES)) {
    return fail("token CA fingerprint is malformed");
  }
  return { ok: true, id, secret, caFingerprint: bytesToHex(fromBase64Url(fingerprint)) };
}

/** True when `secret` hashes to `record.secretHash`; compares in constant time. */
export function checkSecret(record: Pick<TokenRecord, "secretHash">, secret: string): boolean {
  if (!/^[0-9a-f]{64}$/.test(record.secretHash)) return false;
  const expected = Buffer.from(record.secretHash, "hex");
  const actual = createHash("sha256").update(secret, "utf8").digest();
  return timingSafeEqual(expected, actual);
}

function fail(what: string): ParsedToken {
  return { ok: false, reason: `${what} (${HOW_TO_FIX})` };
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** True when `text` is the canonical unpadded base64url encoding of exactly `bytes` bytes. */
function isBase64UrlOf(text: string, bytes: number): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length !== Math.ceil((bytes * 4) / 3)) return false;
  // Re-encoding rejects non-canonical spellings whose unused low bits are set.
  return toBase64Url(fromBase64Url(text)) === text;
}

function toBase64Url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64url");
}

function fromBase64Url(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64url"));
}

function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, "hex"));
}

function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}
