/**
 * Password hashing for the web UI's admin accounts, with node:crypto's scrypt.
 *
 * Stored form (one string, safe in JSON and SQLite):
 *
 *     scrypt$<N>$<r>$<p>$<salt, base64>$<key, base64>
 *
 * New hashes use N=16384, r=8, p=1 (about 16 MiB and tens of ms per hash), a
 * 16-byte random salt and a 32-byte key. Verification reads the parameters from
 * the stored string, so they can be raised later without invalidating old hashes,
 * but only within the bounds below: a tampered hash must not make a login attempt
 * allocate gigabytes. A malformed hash never verifies; it does not throw.
 * Passwords are NFC-normalised first, so "é" typed as one code point or as "e"
 * plus a combining accent is the same password.
 */
import { Buffer } from "node:buffer";
import { scrypt, timingSafeEqual } from "node:crypto";

const N = 16384;
const R = 8;
const P = 1;
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Largest scrypt working set (128·N·r bytes) a stored hash may ask for: 256 MiB. */
const MAX_MEMORY = 256 * 1024 * 1024;
/** Largest parallelism a stored hash may ask for (time grows linearly with p). */
const MAX_P = 16;
/** node refuses to exceed `maxmem`; it is set from the params, plus this slack. */
const MEMORY_SLACK = 1024 * 1024;

interface ScryptParams {
  n: number;
  r: number;
  p: number;
}

/** Hashes `password` with a fresh random salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const key = await deriveKey(password, salt, KEY_BYTES, { n: N, r: R, p: P });
  return ["scrypt", N, R, P, b64(salt), b64(key)].join("$");
}

/** True when `password` matches `hash`; false for a wrong password or a malformed hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const parsed = parseHash(hash);
  if (parsed === undefined) return false;
  const key = await deriveKey(password, parsed.salt, parsed.key.length, parsed.params);
  return timingSafeEqual(key, parsed.key);
}

function parseHash(
  hash: string,
): { params: ScryptParams; salt: Uint8Array; key: Uint8Array } | undefined {
  const parts = hash.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return undefined;
  const [n, r, p] = parts.slice(1, 4).map((x) => (/^[1-9]\d{0,9}$/.test(x) ? Number(x) : NaN));
  const isPowerOfTwo = n >= 2 && Number.isInteger(Math.log2(n));
  if (!isPowerOfTwo || !(r >= 1) || !(p >= 1 && p <= MAX_P)) return undefined;
  if (128 * n * r > MAX_MEMORY) return undefined;
  const salt = unb64(parts[4]);
  const key = unb64(parts[5]);
  if (salt === undefined || salt.length < 8 || key === undefined) return undefined;
  if (key.length < 16 || key.length > 64) return undefined;
  return { params: { n, r, p }, salt, key };
}

function deriveKey(
  password: string,
  salt: Uint8Array,
  length: number,
  { n, r, p }: ScryptParams,
): Promise<Uint8Array> {
  const maxmem = 128 * n * r + MEMORY_SLACK;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, length, { N: n, r, p, maxmem }, (err, key) => {
      if (err) reject(err);
      else resolve(new Uint8Array(key));
    });
  });
}

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** Decodes canonical standard base64 (with or without padding); undefined otherwise. */
function unb64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  return b64(bytes).replace(/=+$/, "") === text.replace(/=+$/, "") ? bytes : undefined;
}
