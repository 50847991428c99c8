import assert from "node:assert/strict";
import { call, fake, login, PASSWORD, request } from "../_fake_deps.ts";
import { IDLE_MS } from "../../../web/sessions.ts";
import { hashPassword } from "../../../agent/security/password.ts";

Deno.test("POST /api/session logs in: HttpOnly SameSite=Strict cookie, CSRF token, action logged", async () => {
  const f = fake();
  const res = await request(f.app, "/api/session", {
    method: "POST",
    json: { password: PASSWORD },
  });
  assert.equal(res.status, 200);
  const cookie = res.headers.get("set-cookie")!;
  assert.match(cookie, /^appliance_session=[0-9a-f]{64};/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  assert.match(cookie, /Path=\//);
  assert.doesNotMatch(cookie, /Secure/);
  const body = await res.json();
  assert.match(body.csrfToken, /^[0-9a-f]{64}$/);
  assert.deepEqual(f.actions, [
    { who: "admin", from: "192.0.2.7", message: "logged in to the admin panel" },
  ]);
});

Deno.test("the session cookie is Secure (and __Host-) when the panel is served over HTTPS", async () => {
  const f = fake({ secure: true });
  const res = await request(f.app, "/api/session", {
    method: "POST",
    json: { password: PASSWORD },
  });
  const cookie = res.headers.get("set-cookie")!;
  assert.match(cookie, /^__Host-appliance_session=/);
  assert.match(cookie, /; Secure/);
  assert.match(cookie, /HttpOnly/);
});

Deno.test("a wrong password is 401 and logged as a failed login", async () => {
  const f = fake();
  const res = await request(f.app, "/api/session", { method: "POST", json: { password: "nope" } });
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { error: "wrong password" });
  assert.equal(res.headers.get("set-cookie"), null);
  assert.deepEqual(f.actions.map((a) => a.message), ["login failed: wrong password"]);
});

Deno.test("a login without a password field is 400 with what to send", async () => {
  const f = fake();
  const res = await request(f.app, "/api/session", { method: "POST", json: { pass: "x" } });
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /password/);
  const notJson = await request(f.app, "/api/session", { method: "POST", body: "password=x" });
  assert.equal(notJson.status, 400);
  assert.deepEqual(await notJson.json(), { error: "the request body must be a JSON object" });
});

Deno.test("five failed logins in a minute make the sixth 429 with Retry-After, per IP", async () => {
  const f = fake();
  const attempt = (password: string, ip = "192.0.2.7") =>
    request(f.app, "/api/session", { method: "POST", json: { password } }, ip);
  for (let i = 0; i < 5; i++) {
    assert.equal((await attempt("wrong")).status, 401);
    f.clock.now += 1000;
  }
  const limited = await attempt(PASSWORD);
  assert.equal(limited.status, 429);
  assert.equal(limited.headers.get("retry-after"), "55");
  assert.match((await limited.json()).error, /too many failed logins from 192\.0\.2\.7/);
  assert.equal((await attempt(PASSWORD, "192.0.2.8")).status, 200, "another IP is not limited");
  f.clock.now += 55_000;
  assert.equal((await attempt(PASSWORD)).status, 200, "the window has passed");
});

Deno.test("login is refused with a hint when no admin password is set", async () => {
  const f = fake({ passwordHash: () => undefined });
  const res = await request(f.app, "/api/session", { method: "POST", json: { password: "x" } });
  assert.equal(res.status, 503);
  assert.match((await res.json()).error, /appliance passwd/);
});

Deno.test("GET /api/session tells whether the cookie is a live session", async () => {
  const f = fake();
  assert.deepEqual(await (await request(f.app, "/api/session")).json(), { authenticated: false });
  const c = await login(f.app);
  assert.deepEqual(await (await call(f.app, c, "GET", "/api/session")).json(), {
    authenticated: true,
    csrfToken: c.csrf,
  });
});

Deno.test("every other /api route needs a session: 401 JSON", async () => {
  const f = fake();
  for (const path of ["/api/status", "/api/rules", "/api/events", "/api/stream", "/api/nope"]) {
    const res = await request(f.app, path);
    assert.equal(res.status, 401, path);
    assert.match((await res.json()).error, /not logged in/);
  }
});

Deno.test("changes without the session's CSRF token are 403 and do nothing", async () => {
  const f = fake();
  const c = await login(f.app);
  const none = await request(f.app, "/api/hosts/web2/stop", {
    method: "POST",
    headers: { cookie: c.cookie },
  });
  assert.equal(none.status, 403);
  assert.match((await none.json()).error, /x-csrf-token/);
  const wrong = await call(f.app, { ...c, csrf: "0".repeat(64) }, "DELETE", "/api/rules/default");
  assert.equal(wrong.status, 403);
  const logout = await request(f.app, "/api/session", {
    method: "DELETE",
    headers: { cookie: c.cookie },
  });
  assert.equal(logout.status, 403);
  assert.deepEqual(f.commands, []);
  assert.equal(f.config().rules.length, 1);
});

Deno.test("DELETE /api/session logs out: the cookie is cleared and no longer works", async () => {
  const f = fake();
  const c = await login(f.app);
  const res = await call(f.app, c, "DELETE", "/api/session");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("set-cookie")!, /appliance_session=;.*Max-Age=0/);
  assert.equal((await call(f.app, c, "GET", "/api/status")).status, 401);
  assert.equal(f.actions.at(-1)!.message, "logged out of the admin panel");
});

Deno.test("a session expires after 8 hours without a request, not while in use", async () => {
  const f = fake();
  const c = await login(f.app);
  f.clock.now += IDLE_MS - 1000;
  assert.equal((await call(f.app, c, "GET", "/api/status")).status, 200);
  f.clock.now += IDLE_MS - 1000;
  assert.equal((await call(f.app, c, "GET", "/api/status")).status, 200, "used: still alive");
  f.clock.now += IDLE_MS + 1;
  assert.equal((await call(f.app, c, "GET", "/api/status")).status, 401);
});

Deno.test("a new admin password ends the sessions opened with the old one", async () => {
  const f = fake();
  const c = await login(f.app);
  const newHash = await hashPassword("another password");
  f.deps.passwordHash = () => newHash;
  assert.equal((await call(f.app, c, "GET", "/api/status")).status, 401);
});
