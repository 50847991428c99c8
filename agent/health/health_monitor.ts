/**
 * Probes the local service on the config's schedule and tells the driver when the verdict
 * flips (rise/fall). With no check configured the host counts as healthy.
 */
import type { ClusterConfig, HealthCheck } from "../cluster/config.ts";
import { INITIAL_VERDICT, nextVerdict, type Verdict } from "./health_verdict.ts";

export interface HealthMonitorDeps {
  config: () => ClusterConfig;
  probe: (check: HealthCheck) => Promise<{ ok: boolean; reason: string }>;
  report: (healthy: boolean, reason: string) => void;
}

export class HealthMonitor {
  #d: HealthMonitorDeps;
  #verdict: Verdict = INITIAL_VERDICT;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(d: HealthMonitorDeps) {
    this.#d = d;
  }

  start(): void {
    this.#schedule(0);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(ms: number) {
    if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), ms);
  }

  async #tick() {
    const check = this.#d.config().health;
    if (!check || check.kind === "none") {
      if (!this.#verdict.healthy) this.#d.report(true, "health check turned off");
      this.#verdict = INITIAL_VERDICT;
      return this.#schedule(1000);
    }
    const r = nextVerdict(this.#verdict, await this.#d.probe(check), check);
    this.#verdict = r.verdict;
    if (r.changed && !this.#stopped) this.#d.report(r.verdict.healthy, r.verdict.reason);
    this.#schedule(check.intervalMs);
  }
}
