/**
 * Certificate fingerprints with node:crypto alone, so the agent and the CLI can pin and
 * compare certificates without loading the X.509 library (about 20 MB of heap), which only
 * init, join and the join handler need.
 */
import { createHash } from "node:crypto";

/** Lowercase hex SHA-256 of the DER of the first certificate in `pem`. */
export function certFingerprint(pem: string): string {
  return createHash("sha256").update(firstCertDer(pem)).digest("hex");
}

/** The DER bytes of the first CERTIFICATE block in `pem`. */
export function firstCertDer(pem: string): Uint8Array<ArrayBuffer> {
  const block = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (block === null) {
    throw new Error(
      "not a PEM certificate: expected a -----BEGIN CERTIFICATE----- block " +
        "(pass the contents of a .pem certificate file, not a key or a path)",
    );
  }
  return Uint8Array.from(atob(block[1].replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}
