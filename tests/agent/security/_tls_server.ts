/** A real HTTPS server on 127.0.0.1 for the security tests; close it in `finally`. */
import type { CertAndKey } from "../../../agent/security/ca.ts";

export interface TestServer {
  /** "https://127.0.0.1:<port>" */
  url: string;
  close(): Promise<void>;
}

/** Serves `handler` over TLS with `cert` on a free loopback port. */
export function serveTls(
  cert: CertAndKey,
  handler: (req: Request) => Response | Promise<Response>,
): TestServer {
  const server = Deno.serve({
    port: 0,
    hostname: "127.0.0.1",
    cert: cert.certPem,
    key: cert.keyPem,
    onListen: () => {},
  }, handler);
  return {
    url: `https://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}
