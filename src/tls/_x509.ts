/**
 * Private to src/tls: everything that needs `@peculiar/x509`, loaded with the Reflect polyfill it
 * requires. Together they cost about 130 ms and 25 MB, so this module is only ever loaded with a
 * dynamic `import()`, when a certificate must be created or checked in full; a warm start that
 * finds a matching `leaf.json` never loads it. Tests may import it statically.
 *
 * @module
 */

// tsyringe (a dependency of @peculiar/x509) throws at load time without a Reflect metadata
// polyfill; ES modules evaluate in import order, so this must stay above the x509 import.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { ECDSA_P256, privateKeyFromPem, publicPointOf } from "./_keys.ts";
import type { CertificateFacts } from "./_leaf_record.ts";
import {
  hashOfDer,
  type LeafCertificate,
  type SubjectAltName,
  subjectAltName,
} from "./leaf_certificate.ts";

x509.cryptoProvider.set(crypto);

export { x509 };

/** Whether `privateKey` is the private half of the key in `certificate`. */
export async function keyMatches(
  certificate: x509.X509Certificate,
  privateKey: CryptoKey,
): Promise<boolean> {
  const publicKey = await certificate.publicKey.export(ECDSA_P256, ["verify"]);
  const probe = crypto.getRandomValues(new Uint8Array(32));
  const signature = await crypto.subtle.sign(ECDSA_P256, privateKey, probe);
  return crypto.subtle.verify(ECDSA_P256, publicKey, signature, probe);
}

/** Subject alternative names of a certificate, normalised; empty when it has none. */
export function subjectAltNamesOf(cert: x509.X509Certificate): SubjectAltName[] {
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (ext === null) return [];
  return ext.names.items.flatMap((n) =>
    n.type === "dns" || n.type === "ip" ? [subjectAltName(n.value)] : []
  );
}

/** Builds a {@linkcode LeafCertificate} from a parsed certificate and its key PEM. */
export async function toLeafCertificate(
  cert: x509.X509Certificate,
  keyPem: string,
): Promise<LeafCertificate> {
  return {
    certPem: cert.toString("pem"),
    keyPem,
    hash: await hashOfDer(new Uint8Array(cert.rawData)),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    hostnames: subjectAltNamesOf(cert).map((s) => s.value),
  };
}

/**
 * Parses a leaf from PEM text and checks that the key belongs to the certificate.
 * Throws a plain Error on any problem: a bad leaf is replaced, never repaired.
 */
export async function parseLeafCertificate(
  certPem: string,
  keyPem: string,
): Promise<{ cert: x509.X509Certificate; leaf: LeafCertificate }> {
  const cert = new x509.X509Certificate(certPem);
  const key = await privateKeyFromPem(keyPem);
  if (!(await keyMatches(cert, key))) {
    throw new Error("the leaf key does not match its certificate");
  }
  return { cert, leaf: await toLeafCertificate(cert, keyPem) };
}

/** What `leaf.json` records about a certificate (the CA's): hash, validity and public key. */
export async function certificateFacts(certPem: string): Promise<CertificateFacts> {
  const cert = new x509.X509Certificate(certPem);
  const publicKey = await crypto.subtle.importKey(
    "spki",
    cert.publicKey.rawData,
    ECDSA_P256,
    true,
    ["verify"],
  );
  return {
    sha256: (await hashOfDer(new Uint8Array(cert.rawData))).base64,
    notBefore: cert.notBefore.getTime(),
    notAfter: cert.notAfter.getTime(),
    publicKey: await publicPointOf(publicKey),
  };
}
