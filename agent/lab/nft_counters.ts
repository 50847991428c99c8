/**
 * A lab host's nftables counters (the agent's `appliance` tables), for tests and benches
 * that must tell why a connection was lost: which host dropped it, and for what reason.
 */
import type { LabHost, NetnsLab } from "./netns_lab.ts";
import { parseCounters } from "../dataplane/nft_rule_applier.ts";

/** Packets per named counter of h's `appliance` tables (only those above 0); {} without tables. */
export async function nftCounters(lab: NetnsLab, h: LabHost): Promise<Record<string, number>> {
  let json: string;
  try {
    json = await lab.exec(h, ["nft", "-j", "list", "counters"], 5_000);
  } catch {
    return {};
  }
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(parseCounters(json, "appliance"))) {
    if (v.packets > 0) out[name] = v.packets;
  }
  return out;
}

/** Every host's counters, by host name. */
export async function allCounters(lab: NetnsLab): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const h of lab.hosts) out[h.name] = await nftCounters(lab, h);
  return out;
}

/** What each counter of each host gained from `before` to `after` (gains above 0 only). */
export function counterGains(
  before: Record<string, Record<string, number>>,
  after: Record<string, Record<string, number>>,
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [host, counters] of Object.entries(after)) {
    for (const [name, n] of Object.entries(counters)) {
      const gain = n - (before[host]?.[name] ?? 0);
      if (gain > 0) (out[host] ??= {})[name] = gain;
    }
  }
  return out;
}
