/**
 * Failover on a fresh 3-host loopback cluster per run: kill -9 of h3 (crash), then, after
 * h3 is restarted and the three agree again, SIGTERM of h3 (graceful leave, a bow-out).
 *
 * Times are wall-clock ms from T0, taken just before the signal, to events the survivors
 * log (ts is their Date.now() when the core emitted the event, on the same machine):
 *   detect_ms   first `peer.down` for h3 on either survivor
 *   converge_ms per survivor the first `cluster.converged` without h3; the later survivor
 * A kill -9 lands at a random point of the 50 ms heartbeat period, so h3's last heartbeat
 * left up to one period before T0: detect_ms is the time since the host died, as a client
 * sees it, and up to one period less than the time since it was last heard (the dead
 * timeout, 5 × 50 ms).
 */
import type { LabHost, LoopbackCluster } from "../../agent/lab/loopback_cluster.ts";
import { firstConvergedWithout, firstDown } from "./_events.ts";
import { agentStats, createLab, StatsTotal, subnet, waitAllConverged } from "./_lab.ts";
import { progress, sleep } from "./_stats.ts";

export interface LeaveSample {
  detectMs: number;
  convergeMs: number;
}

export interface FailoverResults {
  crash: LeaveSample[];
  graceful: LeaveSample[];
  failures: string[];
  stats: StatsTotal;
}

export async function runFailover(runs: number): Promise<FailoverResults> {
  const out: FailoverResults = { crash: [], graceful: [], failures: [], stats: new StatsTotal() };
  for (let run = 0; run < runs; run++) {
    let lab: LoopbackCluster | undefined;
    try {
      lab = await createLab(3, subnet(200 + run));
      const [h1, h2, h3] = lab.hosts;
      await waitAllConverged(lab, lab.hosts, 15_000);

      const crash = await leave(lab, h3, [h1, h2], "SIGKILL");
      out.crash.push(crash);

      await lab.start(h3);
      await waitAllConverged(lab, lab.hosts, 15_000);
      const graceful = await leave(lab, h3, [h1, h2], "SIGTERM");
      out.graceful.push(graceful);

      for (const h of [h1, h2]) out.stats.add(await agentStats(h));
      progress(
        `failover run ${run + 1}/${runs}: crash detect ${crash.detectMs} ms, converge ` +
          `${crash.convergeMs} ms; graceful converge ${graceful.convergeMs} ms`,
      );
    } catch (e) {
      const msg = `run ${run + 1}: ${(e as Error).message}`.slice(0, 500);
      out.failures.push(msg);
      progress(`failover ${msg}`);
    } finally {
      await lab?.cleanup();
    }
  }
  return out;
}

async function leave(
  lab: LoopbackCluster,
  victim: LabHost,
  survivors: LabHost[],
  signal: Deno.Signal,
): Promise<LeaveSample> {
  const t0 = Date.now();
  await lab.kill(victim, signal);
  await waitAllConverged(lab, survivors, 10_000);
  // The events were written before status said so; a few retries cover a slow WAL reader.
  for (let attempt = 0; attempt < 20; attempt++) {
    const downs = survivors.map((h) => firstDown(h.stateDir, victim.name, t0));
    const converged = survivors.map((h) => firstConvergedWithout(h.stateDir, victim.name, t0));
    if (downs.some((t) => t !== undefined) && converged.every((t) => t !== undefined)) {
      const detect = Math.min(...downs.filter((t): t is number => t !== undefined));
      return { detectMs: detect - t0, convergeMs: Math.max(...(converged as number[])) - t0 };
    }
    await sleep(50);
  }
  throw new Error(`${signal} of ${victim.name}: no peer.down / cluster.converged events found`);
}
