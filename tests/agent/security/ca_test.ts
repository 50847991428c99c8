import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import assert from "node:assert/strict";
import { certFingerprint, createCa, issueHostCert } from "../../../agent/security/ca.ts";
import { serveTls } from "./_tls_server.ts";

const NOW = new Date("2030-06-15T12:00:00Z");

function parse(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}

Deno.test("createCa() makes a self-signed P-256 CA named after the cluster, valid 10 years", async () => {
  const ca = parse((await createCa("c-42", NOW)).certPem);
  assert.equal(ca.subject, "CN=appliance cluster c-42");
  assert.equal(ca.issuer, ca.subject);
  assert.equal((ca.publicKey.algorithm as EcKeyAlgorithm).namedCurve, "P-256");
  assert.ok(await ca.verify({ signatureOnly: true }), "self-signature verifies");
  assert.ok(ca.notBefore <= NOW, "valid from now (backdated for clock skew)");
  assert.equal(ca.notAfter.toISOString(), "2040-06-15T12:00:00.000Z");
  const basic = ca.getExtension(x509.BasicConstraintsExtension);
  assert.equal(basic?.ca, true);
  assert.equal(basic?.critical, true);
  const usage = ca.getExtension(x509.KeyUsagesExtension);
  assert.equal(usage?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
});

Deno.test("createCa() writes a PKCS#8 key that belongs to the certificate", async () => {
  const { certPem, keyPem } = await createCa("c1", NOW);
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----/);
  const key = await crypto.subtle.importKey(
    "pkcs8",
    x509.PemConverter.decodeFirst(keyPem),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const data = new TextEncoder().encode("hello");
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, data);
  const pub = await parse(certPem).publicKey.export();
  assert.ok(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, pub, sig, data));
});

Deno.test("createCa() refuses an empty cluster id", async () => {
  await assert.rejects(createCa("  "), /the cluster id is empty/);
});

Deno.test("issueHostCert() signs a 5-year server+client cert naming the host's addresses", async () => {
  const caPair = await createCa("c1", NOW);
  const ca = parse(caPair.certPem);
  const leaf = parse(
    (await issueHostCert(caPair, {
      name: "Web1",
      ips: ["192.0.2.10", "127.0.0.1", "2001:db8::1"],
      dnsNames: ["web1.example.net"],
    }, NOW)).certPem,
  );
  assert.equal(leaf.subject, "CN=Web1");
  assert.equal(leaf.issuer, ca.subject);
  assert.ok(await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true }));
  assert.equal(leaf.notAfter.toISOString(), "2035-06-15T12:00:00.000Z");
  assert.equal(leaf.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  assert.deepEqual([...leaf.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? []], [
    x509.ExtendedKeyUsage.serverAuth,
    x509.ExtendedKeyUsage.clientAuth,
  ]);
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON();
  assert.deepEqual(san, [
    { type: "dns", value: "localhost" },
    { type: "dns", value: "web1" },
    { type: "dns", value: "web1.example.net" },
    { type: "ip", value: "127.0.0.1" },
    { type: "ip", value: "192.0.2.10" },
    { type: "ip", value: "2001:db8::1" },
  ]);
});

Deno.test("issueHostCert() leaves a host name that is not a DNS name out of the SAN", async () => {
  const caPair = await createCa("c1", NOW);
  const leaf = parse((await issueHostCert(caPair, { name: "web 1", ips: [] }, NOW)).certPem);
  assert.equal(leaf.subject, "CN=web 1");
  assert.deepEqual(leaf.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON(), [
    { type: "dns", value: "localhost" },
    { type: "ip", value: "127.0.0.1" },
  ]);
});

Deno.test("issueHostCert() never outlives the CA", async () => {
  const caPair = await createCa("c1", NOW);
  const later = new Date("2038-01-01T00:00:00Z");
  const leaf = parse((await issueHostCert(caPair, { name: "h", ips: [] }, later)).certPem);
  assert.equal(leaf.notAfter.getTime(), parse(caPair.certPem).notAfter.getTime());
});

Deno.test("issueHostCert() explains an IP that is not an address", async () => {
  const caPair = await createCa("c1", NOW);
  await assert.rejects(
    issueHostCert(caPair, { name: "h1", ips: ["192.0.2.300"] }, NOW),
    /host "h1": "192.0.2.300" is not an IP address \(use a dotted IPv4/,
  );
});

Deno.test("issueHostCert() refuses a host certificate in place of the CA", async () => {
  const caPair = await createCa("c1", NOW);
  const host = await issueHostCert(caPair, { name: "h1", ips: [] }, NOW);
  await assert.rejects(
    issueHostCert(host, { name: "h2", ips: [] }, NOW),
    /"CN=h1" is not a CA certificate \(pass the cluster CA/,
  );
});

Deno.test("issueHostCert() refuses a CA key that does not belong to the CA certificate", async () => {
  const a = await createCa("a", NOW);
  const b = await createCa("b", NOW);
  await assert.rejects(
    issueHostCert({ certPem: a.certPem, keyPem: b.keyPem }, { name: "h", ips: [] }, NOW),
    /the CA key does not belong to the CA certificate/,
  );
});

Deno.test("certFingerprint() is the lowercase hex SHA-256 of the certificate's DER", async () => {
  const { certPem } = await createCa("c1", NOW);
  const der = parse(certPem).rawData;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(certFingerprint(certPem), hex);
  assert.match(certFingerprint(certPem), /^[0-9a-f]{64}$/);
  assert.notEqual(certFingerprint((await createCa("c1", NOW)).certPem), hex);
});

Deno.test("certFingerprint() explains a PEM that is not a certificate", async () => {
  const { keyPem } = await createCa("c1", NOW);
  assert.throws(() => certFingerprint(keyPem), /not a PEM certificate/);
});

Deno.test("a host cert serves TLS to clients that trust its CA and not to others", async () => {
  const caPair = await createCa("c1");
  const other = await createCa("c2");
  const host = await issueHostCert(caPair, { name: "h1", ips: [] });
  const server = serveTls(host, () => new Response("hello"));
  const trusting = Deno.createHttpClient({ caCerts: [caPair.certPem] });
  const stranger = Deno.createHttpClient({ caCerts: [other.certPem] });
  try {
    const ok = await fetch(`${server.url}/`, { client: trusting });
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "hello");
    const byName = await fetch(`${server.url.replace("127.0.0.1", "localhost")}/`, {
      client: trusting,
    });
    assert.equal(await byName.text(), "hello");
    await assert.rejects(
      fetch(`${server.url}/`, { client: stranger }),
      (e: Error) => /UnknownIssuer/.test(String(e.cause)),
    );
  } finally {
    trusting.close();
    stranger.close();
    await server.close();
  }
});
