import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { heartbeatBindError } from "../../../agent/adapters/_heartbeat_bind_error.ts";

Deno.test("heartbeatBindError() names the port, the reason and what to check for each cause", () => {
  const msg = (code?: string) => heartbeatBindError("198.18.0.1", 7946, "failed", code).message;
  assertEquals(
    msg("EADDRINUSE"),
    "cannot bind the heartbeat port 198.18.0.1:7946: failed (is another agent running with " +
      "this address? check: ss -ulpn | grep 7946)",
  );
  assertEquals(
    msg("EADDRNOTAVAIL"),
    "cannot bind the heartbeat port 198.18.0.1:7946: failed (is 198.18.0.1 configured on this " +
      "host? check: ip -4 addr)",
  );
  assertEquals(
    msg(),
    "cannot bind the heartbeat port 198.18.0.1:7946: failed (check the address and the port)",
  );
});
