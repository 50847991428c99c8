/**
 * Admin sessions and the login rate limit, in memory (a restart logs everyone out).
 *
 * A session id is 256 random bits, sent only in an HttpOnly cookie; its CSRF token is
 * another 256 bits the SPA keeps in memory and sends in `x-csrf-token` on every change.
 * A session expires after IDLE_MS without a request. Time comes from the caller.
 */
import { timingSafeEqual } from "node:crypto";

export const IDLE_MS = 8 * 3_600_000;
/** Beyond this many live sessions, the least recently used is dropped. */
export const MAX_SESSIONS = 1000;
export const LOGIN_WINDOW_MS = 60_000;
export const LOGIN_MAX_FAILURES = 5;

export interface Session {
  id: string;
  csrfToken: string;
  lastSeen: number;
  /** The password hash it logged in with: a new password ends the session. */
  passwordHash: string;
}

export class SessionStore {
  readonly #sessions = new Map<string, Session>();

  create(now: number, passwordHash: string): Session {
    this.#prune(now);
    if (this.#sessions.size >= MAX_SESSIONS) {
      this.#sessions.delete(this.#sessions.keys().next().value!);
    }
    const s = { id: randomToken(), csrfToken: randomToken(), lastSeen: now, passwordHash };
    this.#sessions.set(s.id, s);
    return s;
  }

  /**
   * The live session with this id, marked as seen now; undefined if unknown, idle for
   * longer than IDLE_MS, or opened with another password than `passwordHash`.
   */
  touch(
    id: string | undefined,
    now: number,
    passwordHash: string | undefined,
  ): Session | undefined {
    if (!id) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    this.#sessions.delete(id);
    if (now - s.lastSeen > IDLE_MS || s.passwordHash !== passwordHash) return undefined;
    s.lastSeen = now;
    this.#sessions.set(id, s); // re-insert: the map stays in least-recently-used order
    return s;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  #prune(now: number) {
    for (const [id, s] of this.#sessions) {
      if (now - s.lastSeen <= IDLE_MS) break; // LRU order: the rest are younger
      this.#sessions.delete(id);
    }
  }
}

/** Failed logins per client address over a sliding minute. */
export class LoginLimiter {
  readonly #failures = new Map<string, number[]>();

  /** Seconds until `ip` may try again, or 0 when it may now. */
  retryAfter(ip: string, now: number): number {
    const recent = this.#recent(ip, now);
    if (recent.length < LOGIN_MAX_FAILURES) return 0;
    return Math.max(1, Math.ceil((recent[0] + LOGIN_WINDOW_MS - now) / 1000));
  }

  fail(ip: string, now: number): void {
    if (this.#failures.size > 10_000) this.#failures.clear(); // bounded memory under a flood
    this.#failures.set(ip, [...this.#recent(ip, now), now].slice(-LOGIN_MAX_FAILURES));
  }

  succeed(ip: string): void {
    this.#failures.delete(ip);
  }

  #recent(ip: string, now: number): number[] {
    return (this.#failures.get(ip) ?? []).filter((t) => now - t < LOGIN_WINDOW_MS);
  }
}

export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares two tokens in time independent of where they differ. */
export function sameToken(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  const enc = new TextEncoder();
  return timingSafeEqual(enc.encode(a), enc.encode(b));
}
