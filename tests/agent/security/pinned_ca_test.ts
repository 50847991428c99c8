import assert from "node:assert/strict";
import {
  type CertAndKey,
  certFingerprint,
  createCa,
  issueHostCert,
} from "../../../agent/security/ca.ts";
import { fetchPinnedCa } from "../../../agent/security/pinned_ca.ts";
import { serveTls, type TestServer } from "./_tls_server.ts";

/** A member's peer API as far as joining needs it: its CA at /peer/v1/ca. */
function servePeerApi(hostCert: CertAndKey, caPem: string): TestServer {
  return serveTls(hostCert, (req) => {
    const path = new URL(req.url).pathname;
    if (req.method === "GET" && path === "/peer/v1/ca") return new Response(caPem);
    if (path === "/peer/v1/hello") return new Response("hello member");
    return new Response("not found", { status: 404 });
  });
}

async function cluster(id: string) {
  const ca = await createCa(id);
  const host = await issueHostCert(ca, { name: "m1", ips: [] });
  return { ca, host, fingerprint: certFingerprint(ca.certPem) };
}

Deno.test("fetchPinnedCa() returns the CA whose fingerprint the token pins", async () => {
  const { ca, host, fingerprint } = await cluster("c1");
  const server = servePeerApi(host, ca.certPem);
  try {
    const pem = await fetchPinnedCa(server.url, fingerprint);
    assert.equal(certFingerprint(pem), fingerprint);
    const client = Deno.createHttpClient({ caCerts: [pem] });
    try {
      const res = await fetch(`${server.url}/peer/v1/hello`, { client });
      assert.equal(await res.text(), "hello member");
    } finally {
      client.close();
    }
  } finally {
    await server.close();
  }
});

Deno.test("fetchPinnedCa() accepts a fingerprint in upper case with colons and a trailing slash", async () => {
  const { ca, host, fingerprint } = await cluster("c1");
  const server = servePeerApi(host, ca.certPem);
  try {
    const colons = fingerprint.toUpperCase().match(/../g)!.join(":");
    const pem = await fetchPinnedCa(`${server.url}/`, colons);
    assert.equal(certFingerprint(pem), fingerprint);
  } finally {
    await server.close();
  }
});

Deno.test("fetchPinnedCa() refuses a CA with another fingerprint, naming both", async () => {
  const { ca, host, fingerprint } = await cluster("c1");
  const other = await cluster("c2");
  const server = servePeerApi(host, ca.certPem);
  try {
    await assert.rejects(fetchPinnedCa(server.url, other.fingerprint), {
      message: `the cluster CA at ${server.url}/peer/v1/ca has fingerprint ${fingerprint} ` +
        `but the token expects ${other.fingerprint}: the token is for another cluster, ` +
        "or someone is intercepting (check the URL)",
    });
  } finally {
    await server.close();
  }
});

Deno.test("fetchPinnedCa() refuses a server that serves the right CA with a cert it did not sign", async () => {
  // An interceptor can copy the public CA cert but cannot get a host cert signed by it.
  const real = await cluster("c1");
  const mitm = await cluster("evil");
  const server = servePeerApi(mitm.host, real.ca.certPem);
  try {
    await assert.rejects(
      fetchPinnedCa(server.url, real.fingerprint),
      /served the expected cluster CA but its TLS certificate \("CN=m1", issued by "CN=appliance cluster evil"\) is not signed by it: someone may be intercepting/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("fetchPinnedCa() explains a server that is not a peer API", async () => {
  const { host, fingerprint } = await cluster("c1");
  const notFound = serveTls(host, () => new Response("nope", { status: 404 }));
  const notPem = serveTls(host, () => new Response("<html>hi</html>"));
  try {
    await assert.rejects(
      fetchPinnedCa(notFound.url, fingerprint),
      /the server answered HTTP 404 \(check that the URL points at the peer API port/,
    );
    await assert.rejects(
      fetchPinnedCa(notPem.url, fingerprint),
      /the answer is not a certificate \(not a PEM certificate/,
    );
  } finally {
    await notFound.close();
    await notPem.close();
  }
});

Deno.test("fetchPinnedCa() gives up on an answer far larger than a certificate", async () => {
  const { host, fingerprint } = await cluster("c1");
  const server = serveTls(host, () => new Response("x".repeat(200_000)));
  try {
    await assert.rejects(
      fetchPinnedCa(server.url, fingerprint),
      /the answer is larger than 65536 bytes/,
    );
  } finally {
    await server.close();
  }
});

Deno.test("fetchPinnedCa() explains a port where nothing listens", async () => {
  const { fingerprint } = await cluster("c1");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  await assert.rejects(
    fetchPinnedCa(`https://127.0.0.1:${port}`, fingerprint),
    /cannot fetch the cluster CA from https:\/\/127\.0\.0\.1:\d+\/peer\/v1\/ca: .* \(check the address and port/,
  );
});

Deno.test("fetchPinnedCa() gives up when the server does not answer in time", async () => {
  const { ca, host, fingerprint } = await cluster("c1");
  let release = () => {};
  const held = new Promise<void>((resolve) => release = resolve);
  const server = serveTls(host, async () => {
    await held;
    return new Response(ca.certPem);
  });
  try {
    await assert.rejects(
      fetchPinnedCa(server.url, fingerprint, { timeoutMs: 200 }),
      /no answer within 200 ms/,
    );
  } finally {
    release();
    await server.close();
  }
});

Deno.test("fetchPinnedCa() refuses a URL that is not https or a fingerprint that is not hex", async () => {
  const fp = "ab".repeat(32);
  await assert.rejects(fetchPinnedCa("http://127.0.0.1:1", fp), /is not an https URL/);
  await assert.rejects(fetchPinnedCa("127.0.0.1:7946", fp), /is not an https URL|is not a URL/);
  await assert.rejects(
    fetchPinnedCa("https://127.0.0.1:1", "abc"),
    /the expected CA fingerprint "abc" is not 64 hex characters/,
  );
});
