/** Configs and plans shared by the dataplane tests. Addresses are in 198.18.0.0/15. */
import { type ClusterConfig, defaultConfig, type PortRule } from "../../../agent/cluster/config.ts";
import type { BucketPlan } from "../../../agent/cluster/effects.ts";

export function rule(
  id: string,
  protocol: PortRule["protocol"],
  portLo: number,
  portHi: number,
  mode: PortRule["mode"],
  affinity: PortRule["affinity"] = "none",
): PortRule {
  return { id, protocol, portLo, portHi, mode, affinity, load: "equal" };
}

/** A cluster with the given rules (default: the NLB default rule only). */
export function config(rules?: PortRule[]): ClusterConfig {
  const c = defaultConfig({ clusterId: "c0ffee0012345678", clusterIp: "198.18.0.10" });
  if (rules) c.rules = rules;
  return c;
}

export function plan(over: Partial<BucketPlan> = {}): BucketPlan {
  return {
    epoch: 7,
    configVersion: 1,
    owned: {},
    single: {},
    defaultHost: true,
    accepting: true,
    ...over,
  };
}

/** Bucket numbers lo..hi inclusive. */
export function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}
