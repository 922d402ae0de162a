/**
 * Private to src/tls: loads `@peculiar/x509` with the Reflect polyfill it needs and the
 * WebCrypto helpers the CA and the leaf share.
 *
 * @module
 */

// tsyringe (a dependency of @peculiar/x509) throws at load time without a Reflect metadata
// polyfill; ES modules evaluate in import order, so this must stay above the x509 import.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(crypto);

export { x509 };

/** Key and signature algorithm of every key here: what Chromium's `serverCertificateHashes` wants. */
export const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A new extractable ECDSA P-256 key pair. */
export function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
}

/** PEM PKCS#8 of a private key, the form `Deno.serve` and `Deno.QuicEndpoint` take. */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY");
}

/** Imports a PEM PKCS#8 ECDSA P-256 private key; throws when the text is not one. */
export function privateKeyFromPem(pem: string): Promise<CryptoKey> {
  const structs = x509.PemConverter.decodeWithHeaders(pem);
  const der = structs.find((s) => s.type === "PRIVATE KEY")?.rawData;
  if (der === undefined) throw new Error("no PRIVATE KEY block");
  return crypto.subtle.importKey("pkcs8", der, ECDSA_P256, true, ["sign"]);
}

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
