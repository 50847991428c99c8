/**
 * The panel's traffic totals, server side: each live host's nftables counters reduced to
 * one number, the new connections its rules accepted since the agent started. Pure but
 * for the `read` it is given (this host's dataplane, or a peer through the peer API).
 */
import type { HostStatus } from "../agent/cluster/status.ts";

export type Counters = Record<string, { packets: number; bytes: number }>;

/** Sum of the packets of the `rule_<id>` counters; undefined when there is none. */
export function acceptedConnections(counters: Counters): number | undefined {
  let total: number | undefined;
  for (const [name, v] of Object.entries(counters)) {
    if (name.startsWith("rule_")) total = (total ?? 0) + v.packets;
  }
  return total;
}

/**
 * Each live host's accepted-connection total by host name, read in parallel. A host that
 * is unreachable, fails to answer, or has no rule counters (no dataplane) is left out.
 */
export async function collectTraffic(
  hosts: HostStatus[],
  read: (host: HostStatus) => Promise<Counters>,
): Promise<Record<string, number>> {
  const live = hosts.filter((h) => h.self || h.state !== "unreachable");
  const totals = await Promise.allSettled(
    live.map(async (h) => [h.name, acceptedConnections(await read(h))] as const),
  );
  const out: Record<string, number> = {};
  for (const r of totals) {
    if (r.status === "fulfilled" && r.value[1] !== undefined) out[r.value[0]] = r.value[1];
  }
  return out;
}

/** `fn` with concurrent calls sharing the one in flight (many panels, one round of asks). */
export function sharedInFlight<T>(fn: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => (inFlight ??= fn().finally(() => (inFlight = undefined)));
}
