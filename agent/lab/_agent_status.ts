/**
 * Reading lab agents' status through their control sockets, shared by the loopback and
 * the namespace labs (both run real agents, each with its own state dir).
 */
import { callAgent } from "../control/control_client.ts";
import type { ClusterStatus } from "../cluster/status.ts";

export interface StatusHost {
  name: string;
  stateDir: string;
}

export function agentStatus(h: StatusHost): Promise<ClusterStatus> {
  return callAgent<ClusterStatus>(h.stateDir, "GET", "/status", undefined, 2000);
}

/** Polls h's status every 20 ms until `ok` holds; throws after timeoutMs with the last answer. */
export async function waitForStatus(
  h: StatusHost,
  ok: (s: ClusterStatus) => boolean,
  timeoutMs: number,
): Promise<ClusterStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const s = await agentStatus(h);
      if (ok(s)) return s;
      last = s;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(
    `${h.name}: condition not reached in ${timeoutMs} ms; last: ${JSON.stringify(last)}`,
  );
}

/**
 * Waits until each of `live` reports a converged view of exactly those hosts, every one
 * of them (itself included) in state converged.
 */
export async function waitAllConverged(live: StatusHost[], timeoutMs: number): Promise<void> {
  const names = live.map((h) => h.name).sort().join(",");
  for (const h of live) {
    await waitForStatus(h, (s) => {
      const up = s.hosts.filter((x) => x.state !== "unreachable");
      return s.converged && up.map((x) => x.name).sort().join(",") === names &&
        up.every((x) => x.state === "converged");
    }, timeoutMs);
  }
}
