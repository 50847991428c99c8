/** /api/status: the cluster as this host sees it, with the bucket owners when known. */
import { Hono } from "hono";
import type { ClusterStatus } from "../../agent/cluster/status.ts";
import type { PanelDeps } from "../deps.ts";
import type { PanelEnv } from "./_http.ts";

export interface PanelStatus extends ClusterStatus {
  /** Wall-clock ms when this status was taken. */
  at: number;
  /** Per `multiple` rule id, the owner host id of each bucket (0 = none). */
  bucketOwners?: Record<string, number[]>;
}

export function statusPayload(deps: PanelDeps, withOwners = true): PanelStatus {
  const status: PanelStatus = { ...deps.status(), at: deps.now() };
  if (withOwners && deps.bucketOwners) {
    status.bucketOwners = Object.fromEntries(
      Object.entries(deps.bucketOwners()).map(([id, owners]) => [id, Array.from(owners)]),
    );
  }
  return status;
}

export function statusApi(deps: PanelDeps): Hono<PanelEnv> {
  return new Hono<PanelEnv>().get("/", (c) => c.json(statusPayload(deps)));
}
