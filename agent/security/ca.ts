/**
 * The cluster certificate authority: one self-signed ECDSA P-256 CA per cluster,
 * and the host (leaf) certificates it issues for the peer API.
 *
 *     createCa(clusterId) ──► CA cert + key (10 years, keyCertSign/cRLSign, pathLen 0)
 *            │
 *            └─ issueHostCert(ca, host) ──► host cert + key (5 years, serverAuth+clientAuth,
 *                                           SAN: IPs + 127.0.0.1, DNS: localhost + host name)
 *
 * A host cert is both a TLS server cert (peer API) and a client cert (mutual TLS
 * between members). Keys are PKCS#8 PEM ("PRIVATE KEY"), which `Deno.serve`
 * accepts as `key`. Both validity windows start an hour in the past so that a
 * member whose clock lags a little still accepts a freshly issued cert.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { isIP } from "node:net";

/** A certificate and its private key, both PEM. */
export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

/** What a host certificate names. */
export interface HostIdentity {
  /** The host's name; becomes the subject CN and, if it is a valid DNS name, a DNS SAN. */
  name: string;
  /** Addresses peers dial; 127.0.0.1 is always added. */
  ips: string[];
  /** Extra DNS names; "localhost" and `name` are always added. */
  dnsNames?: string[];
}

const KEY_ALGORITHM: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
const SIGNING_ALGORITHM: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };
const CA_YEARS = 10;
const HOST_YEARS = 5;
/** Backdating of notBefore, to tolerate clock skew between members. */
const BACKDATE_MS = 60 * 60 * 1000;

/** Creates the self-signed cluster CA, CN "appliance cluster <clusterId>". */
export async function createCa(clusterId: string, now: Date = new Date()): Promise<CertAndKey> {
  if (clusterId.trim() === "") {
    throw new Error("cannot create the cluster CA: the cluster id is empty (pass a cluster id)");
  }
  const keys = await generateKeys();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [`appliance cluster ${clusterId}`] }],
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    notBefore,
    notAfter: addYears(now, CA_YEARS),
    extensions: [
      // pathLength 0: the cluster CA signs host certs only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey) };
}

/** Issues a host certificate signed by `ca`, valid for 5 years (never past the CA's expiry). */
export async function issueHostCert(
  ca: CertAndKey,
  host: HostIdentity,
  now: Date = new Date(),
): Promise<CertAndKey> {
  const caCert = parseCaCert(ca.certPem);
  const caKey = await importCaKey(ca.keyPem);
  const keys = await generateKeys();
  const hostNotAfter = addYears(now, HOST_YEARS);
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [host.name] }],
    issuer: caCert.subjectName,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: hostNotAfter < caCert.notAfter ? hostNotAfter : caCert.notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(subjectAltNames(host)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  if (!(await cert.verify({ publicKey: caCert.publicKey, signatureOnly: true }))) {
    throw new Error(
      "cannot issue a host certificate: the CA key does not belong to the CA certificate " +
        "(restore ca.pem and ca.key from the same backup)",
    );
  }
  return { certPem: cert.toString("pem"), keyPem: await exportKeyPem(keys.privateKey) };
}

import { firstCertDer } from "./cert_fingerprint.ts";

export { certFingerprint, firstCertDer } from "./cert_fingerprint.ts";

function subjectAltNames(host: HostIdentity): x509.JsonGeneralName[] {
  const ips = new Set<string>(["127.0.0.1"]);
  for (const ip of host.ips) {
    if (isIP(ip) === 0) {
      throw new Error(
        `cannot issue a certificate for host "${host.name}": "${ip}" is not an IP address ` +
          "(use a dotted IPv4 address such as 192.0.2.10, or an IPv6 address)",
      );
    }
    ips.add(ip);
  }
  // A host name that is not a valid DNS name (say "web 1") can never be dialled by
  // name, and some TLS stacks reject a cert carrying one, so it is left out of the SAN.
  const dns = new Set<string>(["localhost"]);
  for (const name of [host.name, ...(host.dnsNames ?? [])]) {
    if (isDnsName(name)) dns.add(name.toLowerCase());
  }
  return [
    ...[...dns].map((value): x509.JsonGeneralName => ({ type: "dns", value })),
    ...[...ips].map((value): x509.JsonGeneralName => ({ type: "ip", value })),
  ];
}

/** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split(".").every((label) =>
    /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label)
  );
}

function parseCaCert(pem: string): x509.X509Certificate {
  const cert = new x509.X509Certificate(firstCertDer(pem));
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (constraints === null || !constraints.ca) {
    throw new Error(
      `cannot issue a host certificate: "${cert.subject}" is not a CA certificate ` +
        "(pass the cluster CA, ca.pem, not a host certificate)",
    );
  }
  return cert;
}

async function importCaKey(pem: string): Promise<CryptoKey> {
  try {
    const der = x509.PemConverter.decodeFirst(pem);
    return await crypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, false, ["sign"]);
  } catch (e) {
    throw new Error(
      `cannot issue a host certificate: the CA key is not a PKCS#8 P-256 PEM key ` +
        `(${(e as Error).message}; pass ca.key as written by createCa)`,
    );
  }
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

function addYears(date: Date, years: number): Date {
  const out = new Date(date.getTime());
  out.setUTCFullYear(out.getUTCFullYear() + years);
  return out;
}
