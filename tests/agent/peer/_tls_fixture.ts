/** A cluster CA and a host certificate for 127.0.0.1, for loopback TLS tests. */
import { type CertAndKey, createCa, issueHostCert } from "../../../agent/security/ca.ts";

export interface TlsFixture {
  ca: CertAndKey;
  host: CertAndKey;
}

export async function tlsFixture(clusterId = "test"): Promise<TlsFixture> {
  const ca = await createCa(clusterId);
  return { ca, host: await issueHostCert(ca, { name: "h1", ips: ["127.0.0.1"] }) };
}

/** `n` bytes of a repeating pattern, so a misplaced or lost piece shows. */
export function patternBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + (i >> 12)) & 0xff;
  return out;
}

/** Reads a stream whole. */
export async function readAll(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}
