/** The Clock port on performance.now() and setTimeout. */
import type { Clock } from "../ports.ts";

export class SystemClock implements Clock {
  #timer: ReturnType<typeof setTimeout> | undefined;

  now(): number {
    return performance.now();
  }

  wallNow(): number {
    return Date.now();
  }

  setTimer(at: number, fn: () => void): void {
    this.clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      fn();
    }, Math.max(0, at - this.now()));
  }

  clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
