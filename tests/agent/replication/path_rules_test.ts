import assert from "node:assert/strict";
import {
  checkName,
  checkRelPath,
  joinRel,
  resolveLink,
} from "../../../agent/replication/path_rules.ts";

Deno.test("checkName() accepts ordinary names", () => {
  for (const n of ["index.html", ".htaccess", "...", "a b", "é".repeat(127), "x".repeat(255)]) {
    assert.equal(checkName(n), undefined, n);
  }
});

Deno.test("checkName() refuses empty, dot names, slashes, NUL and overlong names", () => {
  assert.equal(checkName(""), "an entry name is empty");
  assert.equal(checkName("."), `entry name "." is reserved`);
  assert.equal(checkName(".."), `entry name ".." is reserved`);
  assert.equal(checkName("a/b"), `entry name "a/b" contains "/"`);
  assert.equal(checkName("x\0y"), `entry name "x\\u0000y" contains a NUL byte`);
  assert.match(checkName("x".repeat(256))!, /is 256 bytes long \(at most 255\)/);
  assert.match(checkName("é".repeat(128))!, /is 256 bytes long/);
});

Deno.test("checkRelPath() accepts nested relative paths", () => {
  for (const p of ["a", "a/b/c", "img/.hidden/x.png", "a/" + "b".repeat(255)]) {
    assert.equal(checkRelPath(p), undefined, p);
  }
});

Deno.test("checkRelPath() refuses absolute, empty, dot segments, NUL and overlong paths", () => {
  assert.equal(checkRelPath(""), "a relative path is empty");
  assert.equal(checkRelPath("/etc"), `path "/etc" is absolute (expected relative to the tree)`);
  assert.equal(checkRelPath("a//b"), `path "a//b" has an empty segment`);
  assert.equal(checkRelPath("a/"), `path "a/" has an empty segment`);
  assert.equal(checkRelPath("a/./b"), `path "a/./b" has a "." segment`);
  assert.equal(checkRelPath(".."), `path ".." has a ".." segment`);
  assert.equal(checkRelPath("a/../b"), `path "a/../b" has a ".." segment`);
  assert.equal(checkRelPath("x\0y"), `path "x\\u0000y" contains a NUL byte`);
  assert.match(checkRelPath("a/" + "b".repeat(256))!, /is 256 bytes long/);
  assert.equal(checkRelPath("abc/".repeat(1023) + "abcd"), undefined);
  assert.match(checkRelPath("abc/".repeat(1024) + "x")!, /4097 bytes long \(at most 4096\)/);
});

Deno.test("resolveLink() resolves targets inside the link's directory without climbing", () => {
  assert.deepEqual(resolveLink("", "img/a.png"), {
    ok: true,
    resolved: "img/a.png",
    climbs: false,
  });
  assert.deepEqual(resolveLink("a", "b/c"), { ok: true, resolved: "a/b/c", climbs: false });
  assert.deepEqual(resolveLink("a", "."), { ok: true, resolved: "a", climbs: false });
  assert.deepEqual(resolveLink("a", "./b//c/"), { ok: true, resolved: "a/b/c", climbs: false });
  assert.deepEqual(resolveLink("", "."), { ok: true, resolved: "", climbs: false });
});

Deno.test("resolveLink() marks targets above the link's directory as climbing", () => {
  assert.deepEqual(resolveLink("a", ".."), { ok: true, resolved: "", climbs: true });
  assert.deepEqual(resolveLink("a/b", "../x"), { ok: true, resolved: "a/x", climbs: true });
  assert.deepEqual(resolveLink("a/b", "../b/x"), { ok: true, resolved: "a/b/x", climbs: true });
  assert.deepEqual(resolveLink("a/b", "../../c"), { ok: true, resolved: "c", climbs: true });
});

Deno.test("resolveLink() refuses targets that leave the tree", () => {
  assert.deepEqual(resolveLink("a", "../../etc/passwd"), {
    ok: false,
    reason: `symlink target "../../etc/passwd" leaves the content tree`,
  });
  assert.deepEqual(resolveLink("a", "../../x"), {
    ok: false,
    reason: `symlink target "../../x" leaves the content tree`,
  });
  assert.deepEqual(resolveLink("", ".."), {
    ok: false,
    reason: `symlink target ".." leaves the content tree`,
  });
});

Deno.test("resolveLink() refuses absolute, empty and NUL targets", () => {
  assert.deepEqual(resolveLink("a", "/etc"), {
    ok: false,
    reason: `symlink target "/etc" is absolute (use a path relative to the link)`,
  });
  assert.deepEqual(resolveLink("a", ""), { ok: false, reason: `symlink target "" is empty` });
  assert.deepEqual(resolveLink("a", "x\0y"), {
    ok: false,
    reason: `symlink target "x\\u0000y" contains a NUL byte`,
  });
});

Deno.test("resolveLink() refuses '..' after a name, which a link in the path could redirect", () => {
  const r = resolveLink("", "r/../etc");
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : "", /"r\/\.\.\/etc" has "\.\." after a name/);
});

Deno.test("resolveLink() refuses a malformed directory", () => {
  const r = resolveLink("a/../b", "x");
  assert.equal(r.ok, false);
  assert.match(!r.ok ? r.reason : "", /^symlink directory: path "a\/\.\.\/b" has a "\.\." segment/);
});

Deno.test("joinRel() joins to the root and to a directory", () => {
  assert.equal(joinRel("", "a"), "a");
  assert.equal(joinRel("a/b", "c"), "a/b/c");
});
