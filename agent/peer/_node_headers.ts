/**
 * A node:http message's headers as a fetch `Headers`: a header node gives as an array
 * (set-cookie, or one sent several times) becomes one entry per value. Used on both ends
 * of the peer API (peer_server.ts for requests, adapters/_nodelay_fetch.ts for answers).
 */
import type { IncomingMessage } from "node:http";

export function headersOf(message: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(message.headers)) {
    for (const v of Array.isArray(value) ? value : [value ?? ""]) headers.append(name, v);
  }
  return headers;
}
