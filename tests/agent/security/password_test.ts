import assert from "node:assert/strict";
import { hashPassword, verifyPassword } from "../../../agent/security/password.ts";

Deno.test("hashPassword() writes scrypt$16384$8$1$<16-byte salt>$<32-byte key>", async () => {
  const hash = await hashPassword("correct horse");
  const parts = hash.split("$");
  assert.deepEqual(parts.slice(0, 4), ["scrypt", "16384", "8", "1"]);
  assert.equal(atob(parts[4]).length, 16);
  assert.equal(atob(parts[5]).length, 32);
});

Deno.test("hashPassword() salts: the same password hashes differently each time", async () => {
  assert.notEqual(await hashPassword("same"), await hashPassword("same"));
});

Deno.test("verifyPassword() accepts the right password and refuses others", async () => {
  const hash = await hashPassword("correct horse");
  assert.equal(await verifyPassword("correct horse", hash), true);
  assert.equal(await verifyPassword("correct horsE", hash), false);
  assert.equal(await verifyPassword("", hash), false);
});

Deno.test("verifyPassword() treats composed and decomposed accents as the same password", async () => {
  const hash = await hashPassword("caf\u00e9");
  assert.equal(await verifyPassword("cafe\u0301", hash), true);
});

Deno.test("verifyPassword() checks a hash made with other scrypt parameters", async () => {
  // scrypt(N=1024, r=8, p=1, dkLen=32) of "pw" with salt "0123456789abcdef",
  // computed independently with Python's hashlib.scrypt.
  const hash =
    "scrypt$1024$8$1$MDEyMzQ1Njc4OWFiY2RlZg==$aMVTuQEI+jkaGyQcKvYHZwvQAIPq1C1TACYLFE9oZeo=";
  assert.equal(await verifyPassword("pw", hash), true);
  assert.equal(await verifyPassword("pW", hash), false);
});

Deno.test("verifyPassword() is false for a malformed hash, never an exception", async () => {
  const good = await hashPassword("pw");
  const [, n, r, p, salt, key] = good.split("$");
  const malformed = [
    "",
    "pw",
    "bcrypt$16384$8$1$" + salt + "$" + key,
    ["scrypt", n, r, p, salt].join("$"),
    ["scrypt", "1000", r, p, salt, key].join("$"), // N not a power of two
    ["scrypt", "0", r, p, salt, key].join("$"),
    ["scrypt", n, "0", p, salt, key].join("$"),
    ["scrypt", n, r, "x", salt, key].join("$"),
    ["scrypt", "1048576", "64", p, salt, key].join("$"), // would need 8 GiB
    ["scrypt", n, r, "99", salt, key].join("$"),
    ["scrypt", n, r, p, "not base64!", key].join("$"),
    ["scrypt", n, r, p, "", key].join("$"),
    ["scrypt", n, r, p, salt, key.slice(0, 8)].join("$"), // key too short
    ["scrypt", n, r, p, salt, key, "extra"].join("$"),
  ];
  for (const hash of malformed) {
    assert.equal(await verifyPassword("pw", hash), false, `"${hash}" should not verify`);
  }
  assert.equal(await verifyPassword("pw", good), true);
});
