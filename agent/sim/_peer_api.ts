/** What a host's peer API answers to a fetch, as `step` inputs for the client. */
import type { Input } from "../cluster/effects.ts";
import type { NodeState } from "../cluster/node_state.ts";
import { toSnapshot } from "../cluster/view.ts";
import type { Fetch } from "./sim_host.ts";

/** The answer from the server's current state (as agent/driver.ts feeds it to the core). */
export function answer(server: string, s: NodeState, f: Fetch): Input {
  if (f.kind === "fetchMap") {
    return { kind: "snapshot", hostId: f.hostId, snapshot: toSnapshot(s.view, s.config.version) };
  }
  if (f.reason === "newer") return { kind: "config", config: s.config, source: `host ${server}` };
  return { kind: "peerConfig", hostId: f.hostId, config: s.config };
}

export function failed(f: Fetch, error: string): Input {
  const what = f.kind === "fetchMap" ? "map" : "config";
  return { kind: "fetchFailed", hostId: f.hostId, what, error };
}
