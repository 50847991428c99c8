import assert from "node:assert/strict";
import {
  IDLE_MS,
  LoginLimiter,
  MAX_SESSIONS,
  sameToken,
  SessionStore,
} from "../../web/sessions.ts";

Deno.test("SessionStore.create() makes 256-bit random ids and CSRF tokens", () => {
  const store = new SessionStore();
  const a = store.create(0, "h"), b = store.create(0, "h");
  assert.match(a.id, /^[0-9a-f]{64}$/);
  assert.match(a.csrfToken, /^[0-9a-f]{64}$/);
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.id, a.csrfToken);
});

Deno.test("SessionStore.touch() forgets a session idle for more than 8 h", () => {
  const store = new SessionStore();
  const s = store.create(0, "h");
  assert.equal(store.touch(s.id, IDLE_MS, "h")?.id, s.id);
  assert.equal(store.touch(s.id, 2 * IDLE_MS + 1, "h"), undefined);
  assert.equal(store.touch(s.id, 0, "h"), undefined, "gone for good");
  assert.equal(store.touch(undefined, 0, "h"), undefined);
});

Deno.test("SessionStore.touch() ends a session opened with another password", () => {
  const store = new SessionStore();
  const s = store.create(0, "old");
  assert.equal(store.touch(s.id, 1, "new"), undefined);
  assert.equal(store.touch(s.id, 2, "old"), undefined, "gone for good");
});

Deno.test("SessionStore keeps at most MAX_SESSIONS, dropping the least recently used", () => {
  const store = new SessionStore();
  const first = store.create(0, "h");
  const second = store.create(0, "h");
  store.touch(first.id, 1, "h");
  for (let i = 2; i < MAX_SESSIONS; i++) store.create(1, "h");
  store.create(2, "h");
  assert.equal(store.size, MAX_SESSIONS);
  assert.equal(store.touch(second.id, 3, "h"), undefined);
  assert.ok(store.touch(first.id, 3, "h"));
});

Deno.test("LoginLimiter allows 5 failures a minute per address, and forgets on success", () => {
  const l = new LoginLimiter();
  for (let t = 0; t < 5; t++) l.fail("a", t * 1000);
  assert.equal(l.retryAfter("a", 5000), 55);
  assert.equal(l.retryAfter("b", 5000), 0);
  assert.equal(l.retryAfter("a", 60_000), 0, "the first failure left the window");
  l.succeed("a");
  assert.equal(l.retryAfter("a", 5000), 0);
});

Deno.test("sameToken() compares whole tokens", () => {
  assert.ok(sameToken("abc", "abc"));
  assert.ok(!sameToken("abd", "abc"));
  assert.ok(!sameToken("ab", "abc"));
  assert.ok(!sameToken(undefined, "abc"));
});
