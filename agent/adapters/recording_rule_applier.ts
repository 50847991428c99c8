/**
 * The RuleApplier used when the host has no dataplane configured (loopback clusters, the
 * simulator-backed tests): it keeps the latest plan so status and tests can read it.
 * The nftables applier replaces it where the dataplane runs.
 */
import type { BucketPlan } from "../cluster/effects.ts";
import type { RuleApplier } from "../ports.ts";

export class RecordingRuleApplier implements RuleApplier {
  plan: BucketPlan | undefined;
  applied = 0;

  apply(plan: BucketPlan): Promise<void> {
    this.plan = plan;
    this.applied++;
    return Promise.resolve();
  }

  refresh(): Promise<void> {
    return Promise.resolve();
  }

  clear(): Promise<void> {
    this.plan = undefined;
    return Promise.resolve();
  }
}
