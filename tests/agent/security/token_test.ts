import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  checkSecret,
  createToken,
  parseDuration,
  parseToken,
} from "../../../agent/security/token.ts";

const FP = "0123456789abcdef".repeat(4);
const NOW = 1_900_000_000_000;
const HOW = "(copy the whole token printed by `appliance token create`)";

function create(overrides: Partial<Parameters<typeof createToken>[0]> = {}) {
  return createToken({ caFingerprint: FP, now: NOW, ttlMs: 3_600_000, ...overrides });
}

Deno.test("createToken() prints apl1 and three unpadded base64url pieces", () => {
  const { token } = create();
  assert.match(token, /^apl1\.[A-Za-z0-9_-]{12}\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
  assert.equal(token.length, 84);
});

Deno.test("createToken() records the id, the secret's hash and the lifetime", () => {
  const { token, record } = create();
  const [, id, secret] = token.split(".");
  assert.equal(record.id, id);
  assert.equal(record.secretHash, createHash("sha256").update(secret).digest("hex"));
  assert.equal(record.createdAt, NOW);
  assert.equal(record.expiresAt, NOW + 3_600_000);
  assert.ok(!JSON.stringify(record).includes(secret), "the record never holds the secret");
});

Deno.test("createToken() draws a fresh id and secret every time", () => {
  const tokens = Array.from({ length: 50 }, () => parseToken(create().token));
  const ids = new Set(tokens.map((t) => t.ok && t.id));
  const secrets = new Set(tokens.map((t) => t.ok && t.secret));
  assert.equal(ids.size, 50);
  assert.equal(secrets.size, 50);
});

Deno.test("createToken() refuses a fingerprint that is not 64 hex characters", () => {
  assert.throws(() => create({ caFingerprint: FP.slice(0, 32) }), /is not 64 hex characters/);
  assert.throws(() => create({ caFingerprint: "zz" + FP.slice(2) }), /is not 64 hex characters/);
});

Deno.test("createToken() refuses a lifetime that is not positive", () => {
  for (const ttlMs of [0, -1, 1.5, NaN]) {
    assert.throws(() => create({ ttlMs }), /is not a positive whole number \(use a duration/);
  }
});

Deno.test("parseToken() gives back the id, the secret and the full CA fingerprint", () => {
  const { token, record } = create({ caFingerprint: FP.toUpperCase() });
  const parsed = parseToken(token);
  assert.ok(parsed.ok);
  assert.equal(parsed.id, record.id);
  assert.equal(parsed.caFingerprint, FP);
  assert.ok(checkSecret(record, parsed.secret));
});

Deno.test("parseToken() ignores whitespace picked up when pasting", () => {
  const { token } = create();
  assert.ok(parseToken(`  ${token}\n`).ok);
});

Deno.test("parseToken() explains a token that is not four apl parts", () => {
  const { token } = create();
  const expected = {
    ok: false,
    reason: `token is malformed: expected 4 dot-separated parts starting with apl1 ${HOW}`,
  };
  assert.deepEqual(parseToken(""), expected);
  assert.deepEqual(parseToken(token.split(".").slice(0, 3).join(".")), expected);
  assert.deepEqual(parseToken(`${token}.x`), expected);
  assert.deepEqual(parseToken(token.replace("apl1", "xyz1")), expected);
});

Deno.test("parseToken() names an unsupported version", () => {
  const parsed = parseToken(create().token.replace("apl1", "apl2"));
  assert.equal(parsed.ok, false);
  assert.match(!parsed.ok ? parsed.reason : "", /token version "apl2" is not supported/);
});

Deno.test("parseToken() names the piece that was damaged", () => {
  const [v, id, secret, fp] = create().token.split(".");
  const reason = (s: string) => {
    const parsed = parseToken(s);
    return parsed.ok ? "ok" : parsed.reason;
  };
  assert.equal(reason([v, id.slice(1), secret, fp].join(".")), `token id is malformed ${HOW}`);
  assert.equal(reason([v, id, secret + "A", fp].join(".")), `token secret is malformed ${HOW}`);
  assert.equal(
    reason([v, id, secret, fp.slice(0, 42)].join(".")),
    `token CA fingerprint is malformed ${HOW}`,
  );
  assert.equal(
    reason([v, id, "+" + secret.slice(1), fp].join(".")),
    `token secret is malformed ${HOW}`,
  );
});

Deno.test("parseToken() rejects a non-canonical base64url piece", () => {
  // 43 characters carry 258 bits for 256: the last character's two low bits must be zero.
  const [v, id, secret, fp] = create({ caFingerprint: "0".repeat(64) }).token.split(".");
  assert.equal(fp.at(-1), "A");
  const parsed = parseToken([v, id, secret, fp.slice(0, -1) + "B"].join("."));
  assert.equal(parsed.ok, false);
});

Deno.test("checkSecret() accepts only the token's own secret", () => {
  const a = create();
  const b = create();
  const secretOf = (t: string) => t.split(".")[2];
  assert.equal(checkSecret(a.record, secretOf(a.token)), true);
  assert.equal(checkSecret(a.record, secretOf(b.token)), false);
  assert.equal(checkSecret(a.record, ""), false);
});

Deno.test("checkSecret() is false, not an exception, for a damaged record", () => {
  const { token, record } = create();
  const secret = token.split(".")[2];
  assert.equal(checkSecret({ secretHash: record.secretHash.slice(2) }, secret), false);
  assert.equal(checkSecret({ secretHash: "" }, secret), false);
  assert.equal(checkSecret({ secretHash: record.secretHash.toUpperCase() }, secret), false);
});

Deno.test("token.ts re-exports parseDuration() for --ttl", () => {
  assert.equal(parseDuration("30m"), 1_800_000);
});
