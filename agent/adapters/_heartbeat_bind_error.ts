/**
 * The error both UDP transports give when the heartbeat port cannot be bound: what failed,
 * the system's reason, and what to check for the usual two causes.
 */

/** Why a bind failed, as node:dgram's `code` names it (errno names). */
export type BindFailure = "EADDRINUSE" | "EADDRNOTAVAIL" | string | undefined;

export function heartbeatBindError(
  address: string,
  port: number,
  reason: string,
  code: BindFailure,
): Error {
  const hint = code === "EADDRINUSE"
    ? `is another agent running with this address? check: ss -ulpn | grep ${port}`
    : code === "EADDRNOTAVAIL"
    ? `is ${address} configured on this host? check: ip -4 addr`
    : "check the address and the port";
  return new Error(`cannot bind the heartbeat port ${address}:${port}: ${reason} (${hint})`);
}
