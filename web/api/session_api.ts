/**
 * /api/session: log in (POST {password} → session cookie + CSRF token), log out (DELETE),
 * ask (GET → {authenticated, csrfToken}). `guard` is the middleware that requires a live
 * session on every other /api route, and the CSRF token on every change. A new password
 * (`appliance passwd`) ends every session opened with the old one.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { verifyPassword } from "../../agent/security/password.ts";
import type { PanelDeps } from "../deps.ts";
import { type LoginLimiter, sameToken, type SessionStore } from "../sessions.ts";
import { clientIp, HttpError, type PanelEnv, readJsonObject } from "./_http.ts";

export const ADMIN = "admin";

/** With HTTPS the __Host- prefix also pins the cookie to this host and path. */
export function cookieName(secure: boolean): string {
  return secure ? "__Host-appliance_session" : "appliance_session";
}

export function sessionApi(
  deps: PanelDeps,
  sessions: SessionStore,
  limiter: LoginLimiter,
): Hono<PanelEnv> {
  const app = new Hono<PanelEnv>();
  const cookie = cookieName(deps.secure);

  app.get("/", (c) => {
    const s = sessions.touch(getCookie(c, cookie), deps.now(), deps.passwordHash());
    return c.json(s ? { authenticated: true, csrfToken: s.csrfToken } : { authenticated: false });
  });

  app.post("/", async (c) => {
    const ip = clientIp(c);
    const wait = limiter.retryAfter(ip, deps.now());
    if (wait > 0) {
      throw new HttpError(
        429,
        `too many failed logins from ${ip}: try again in ${wait} s`,
        {},
        { "Retry-After": String(wait) },
      );
    }
    const { password } = await readJsonObject(c);
    if (typeof password !== "string" || password === "") {
      throw new HttpError(400, 'give the admin password as {"password": "..."}');
    }
    const hash = deps.passwordHash();
    if (hash === undefined) {
      throw new HttpError(
        503,
        "no admin password is set on this host: set one with `appliance passwd`",
      );
    }
    if (!(await verifyPassword(password, hash))) {
      limiter.fail(ip, deps.now());
      deps.logAction(ADMIN, ip, "login failed: wrong password");
      throw new HttpError(401, "wrong password");
    }
    limiter.succeed(ip);
    const old = getCookie(c, cookie);
    if (old) sessions.delete(old);
    const s = sessions.create(deps.now(), hash);
    setCookie(c, cookie, s.id, {
      path: "/",
      httpOnly: true,
      sameSite: "Strict",
      secure: deps.secure,
    });
    deps.logAction(ADMIN, ip, "logged in to the admin panel");
    return c.json({ csrfToken: s.csrfToken });
  });

  app.delete("/", (c) => {
    sessions.delete(c.get("session").id);
    deleteCookie(c, cookie, { path: "/", secure: deps.secure });
    deps.logAction(ADMIN, clientIp(c), "logged out of the admin panel");
    return c.json({ ok: true });
  });
  return app;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Requires a live session on /api (but to ask about or open one), and the session's CSRF
 * token in `x-csrf-token` on every POST, PUT and DELETE.
 */
export function guard(deps: PanelDeps, sessions: SessionStore): MiddlewareHandler<PanelEnv> {
  const cookie = cookieName(deps.secure);
  return async (c, next) => {
    const path = c.req.path.replace(/\/+$/, "");
    if (path === "/api/session" && (c.req.method === "GET" || c.req.method === "POST")) {
      return await next();
    }
    const s = sessions.touch(getCookie(c, cookie), deps.now(), deps.passwordHash());
    if (!s) throw new HttpError(401, "not logged in, or the session expired: log in again");
    if (!SAFE_METHODS.has(c.req.method) && !sameToken(c.req.header("x-csrf-token"), s.csrfToken)) {
      throw new HttpError(403, "missing or wrong x-csrf-token header: reload the page");
    }
    c.set("session", s);
    await next();
  };
}
