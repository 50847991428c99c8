/**
 * Operator commands on the local host: drainstop, stop, start, suspend, resume, leave.
 * They change only the *desired* state; convergence derives the rest. As in NLB, a
 * suspended host ignores every command but resume (and leave, so it can shut down).
 */
import type { AdminCommand, Effect } from "./effects.ts";
import type { NodeState } from "./node_state.ts";
import { FLAG_LEAVING } from "./heartbeat_codec.ts";
import { recompute } from "./converge.ts";
import { sendHeartbeat } from "./beacon.ts";
import { log } from "./_log.ts";

/** Applies a command; returns the reason it was refused, if it was. */
export function applyCommand(
  s: NodeState,
  command: AdminCommand,
  by: string,
  now: number,
  fx: Effect[],
): string | undefined {
  if (s.leaving) return "the agent is shutting down";
  if (s.admin === "suspended" && command !== "resume" && command !== "leave") {
    return "this host is suspended and ignores commands: run `appliance resume` first";
  }
  switch (command) {
    case "drainstop":
      if (s.admin !== "active") return `nothing to drain: the host is ${s.admin}`;
      s.admin = "draining";
      s.drainDeadline = now + s.config.drainTimeoutMs;
      break;
    case "stop":
      s.admin = "stopped";
      s.drainDeadline = undefined;
      break;
    case "start":
      s.admin = "active";
      s.drainDeadline = undefined;
      break;
    case "suspend":
      s.admin = "suspended";
      s.drainDeadline = undefined;
      break;
    case "resume":
      if (s.admin !== "suspended") return `the host is not suspended (it is ${s.admin})`;
      s.admin = "active";
      break;
    case "leave":
      s.leaving = true;
      break;
  }
  fx.push(log("info", "host.command", `${command} (by ${by})`, { command, by }));
  recompute(s, `${command} by ${by}`, now, fx);
  if (command === "leave") {
    // The bow-out, sent twice against loss: peers converge at once instead of timing out.
    sendHeartbeat(s, now, fx, FLAG_LEAVING);
    sendHeartbeat(s, now, fx, FLAG_LEAVING);
  }
  return undefined;
}
