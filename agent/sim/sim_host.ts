/**
 * A simulated host as the cluster runs it, and what the simulator reports about hosts.
 *
 * Host life cycle:
 *
 *        start                pause(ms)
 *   off ───────► running ◄──────────────► paused   (events held, then delivered in order)
 *                 │  ▲ ▲ restart
 *          crash  │  │ └──────────┐
 *                 ▼  │ restart    │
 *               crashed         left ◄── leave (bow-out sent, then the process exits)
 */
import type { BucketPlan, Effect, Input } from "../cluster/effects.ts";
import type { StepResult } from "../cluster/membership.ts";
import type { NodeState } from "../cluster/node_state.ts";
import type { NetworkSettings } from "./network.ts";

export type HostStatus = "off" | "running" | "paused" | "crashed" | "left";

export interface SimHost {
  /** 0-based; host i is named h(i+1). */
  readonly index: number;
  readonly id: number;
  readonly name: string;
  readonly address: string;
  status: HostStatus;
  /** The core's latest state; kept after a crash for inspection. */
  state?: NodeState;
  incarnation: number;
  /** The plan the dataplane holds: the latest applyBuckets, cleared when the process dies. */
  plan?: BucketPlan;
  /** Bumped when the process dies: timers and replies for an older life are discarded. */
  life: number;
  timerAt?: number;
  timer: number;
  /** Events that arrived while paused, delivered in order on resume. */
  held: Item[];
  pauseToken: number;
  pausedUntil: number;
}

export type Fault =
  | { kind: "start" | "crash" | "restart" | "leave"; host: number; at: number }
  | { kind: "pause"; host: number; at: number; until: number }
  | { kind: "partition"; at: number; until: number; groups: number[][] }
  | { kind: "network"; at: number; settings: NetworkSettings };

export type SimEvent =
  | { type: "step"; host: SimHost; input: Input; result: StepResult }
  | { type: "plan"; host: SimHost; plan: BucketPlan | undefined }
  /** `observer` marked `subject` down (peer.down) or up (peer.up). */
  | { type: "down" | "up"; observer: SimHost; subject: SimHost }
  | { type: "fault"; fault: Fault };

export type Fetch = Extract<Effect, { kind: "fetchMap" | "fetchConfig" }>;

/** One entry of the agenda. */
export type Item =
  | { kind: "packet"; to: number; bytes: Uint8Array; from: string }
  | { kind: "tick"; to: number; life: number; timer: number }
  | { kind: "reply"; to: number; life: number; input: Input }
  | { kind: "request"; to: number; from: number; life: number; fetch: Fetch }
  | { kind: "resume"; to: number; token: number }
  | { kind: "action"; fn: () => void };
