/** Builds a `log` effect. Private to the cluster core. */
import type { Effect, Level } from "./effects.ts";

export function log(
  level: Level,
  type: string,
  message: string,
  details?: Record<string, unknown>,
): Effect {
  return { kind: "log", level, type, message, details };
}
