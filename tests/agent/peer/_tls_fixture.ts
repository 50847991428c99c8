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

/** `bytes` as a stream of slices of `step` bytes (the last one shorter), pulled one by one. */
export function slicedStream(bytes: Uint8Array, step: number): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctl) {
      if (off >= bytes.length) return ctl.close();
      ctl.enqueue(bytes.slice(off, off += step));
    },
  });
}

/** Reads a stream whole. */
export async function readAll(body: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(body).arrayBuffer());
}
