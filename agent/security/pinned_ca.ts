/**
 * Trust on first use, pinned by the join token: fetch a member's cluster CA and
 * accept it only if its SHA-256 fingerprint is the one the token carries.
 *
 * The joiner does not hold the CA yet, so it cannot verify the TLS chain; it
 * connects with verification off (node:https, `rejectUnauthorized: false`, which
 * Deno honours without --unsafely-ignore-certificate-errors) and then checks:
 *
 *   1. the CA PEM served at GET <baseUrl>/peer/v1/ca has the expected fingerprint;
 *   2. the certificate the server presented in the TLS handshake is signed by
 *      that CA, so the TLS session really ends at a holder of a cluster host key.
 *
 * Only then is the CA returned; from there on the joiner uses ordinary verified
 * TLS with `Deno.createHttpClient({ caCerts: [pem] })`.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import { certFingerprint, firstCertDer } from "./ca.ts";
import { concatBytes } from "../concat_bytes.ts";

export interface FetchPinnedCaOptions {
  /** Give up when the peer has not answered in this long. Default 10 000 ms. */
  timeoutMs?: number;
}

/** A CA certificate is well under this; anything larger is not an appliance answer. */
const MAX_BODY_BYTES = 64 * 1024;
const CA_PATH = "/peer/v1/ca";

/**
 * Fetches the cluster CA from the member at `baseUrl` (e.g. "https://192.0.2.10:7946")
 * and returns its PEM if its fingerprint equals `expectedFingerprint` (hex SHA-256 of
 * the DER; case and ':' separators ignored). Throws an Error saying what went wrong
 * and what to check otherwise.
 */
export async function fetchPinnedCa(
  baseUrl: string,
  expectedFingerprint: string,
  opts: FetchPinnedCaOptions = {},
): Promise<string> {
  const expected = expectedFingerprint.replaceAll(":", "").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) {
    throw new Error(
      `the expected CA fingerprint "${expectedFingerprint}" is not 64 hex characters ` +
        "(pass the caFingerprint from parseToken)",
    );
  }
  const url = caUrl(baseUrl);
  const answer = await getUnverified(url, opts.timeoutMs ?? 10_000);
  if (answer.status !== 200) {
    throw new Error(
      `cannot fetch the cluster CA from ${url}: the server answered HTTP ${answer.status} ` +
        "(check that the URL points at the peer API port of an appliance member)",
    );
  }
  let caCert: x509.X509Certificate;
  try {
    caCert = new x509.X509Certificate(firstCertDer(answer.body));
  } catch (e) {
    throw new Error(
      `cannot fetch the cluster CA from ${url}: the answer is not a certificate ` +
        `(${(e as Error).message}; check that the URL points at an appliance member)`,
    );
  }
  const actual = certFingerprint(caCert.toString("pem"));
  if (actual !== expected) {
    throw new Error(
      `the cluster CA at ${url} has fingerprint ${actual} but the token expects ${expected}: ` +
        "the token is for another cluster, or someone is intercepting (check the URL)",
    );
  }
  const presented = new x509.X509Certificate(answer.peerCertDer);
  const signedByCa = await presented.verify({ publicKey: caCert.publicKey, signatureOnly: true });
  if (!signedByCa) {
    throw new Error(
      `the server at ${url} served the expected cluster CA but its TLS certificate ` +
        `("${presented.subject}", issued by "${presented.issuer}") is not signed by it: ` +
        "someone may be intercepting (check the URL)",
    );
  }
  return caCert.toString("pem");
}

function caUrl(baseUrl: string): string {
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    throw new Error(`"${baseUrl}" is not a URL (use https://<member address>:<peer port>)`);
  }
  if (base.protocol !== "https:") {
    throw new Error(
      `"${baseUrl}" is not an https URL: the peer API only speaks TLS ` +
        "(use https://<member address>:<peer port>)",
    );
  }
  return base.origin + base.pathname.replace(/\/+$/, "") + CA_PATH;
}

interface UnverifiedAnswer {
  status: number;
  body: string;
  /** DER of the leaf certificate the server presented in the TLS handshake. */
  peerCertDer: Uint8Array<ArrayBuffer>;
}

/** GET over TLS with certificate verification off; the caller must pin what it gets. */
function getUnverified(url: string, timeoutMs: number): Promise<UnverifiedAnswer> {
  const cannot = (why: string) =>
    new Error(
      `cannot fetch the cluster CA from ${url}: ${why} ` +
        "(check the address and port, and that appliance is running there)",
    );
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, agent: false }, (res) => {
      const peer = (res.socket as TLSSocket).getPeerCertificate(false);
      const chunks: Uint8Array[] = [];
      let size = 0;
      res.on("data", (chunk: Uint8Array) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          req.destroy(cannot(`the answer is larger than ${MAX_BODY_BYTES} bytes`));
        } else chunks.push(chunk);
      });
      res.on("error", (e) => reject(cannot(e.message)));
      res.on("end", () => {
        if (!peer?.raw) {
          reject(cannot("the server presented no TLS certificate"));
          return;
        }
        resolve({
          status: res.statusCode ?? 0,
          body: new TextDecoder().decode(concatBytes(chunks)),
          peerCertDer: new Uint8Array(peer.raw),
        });
      });
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy(cannot(`no answer within ${timeoutMs} ms`));
    });
    req.on("error", (e) => reject(e.message.startsWith("cannot fetch") ? e : cannot(e.message)));
  });
}
