/**
 * Private to src/tls: the ECDSA P-256 keys of the CA and the leaf, with WebCrypto only.
 *
 * @module
 */

import { pemDecode, pemEncode } from "./_pem.ts";

/** Key and signature algorithm of every key here: what Chromium's `serverCertificateHashes` wants. */
export const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** The public point of a P-256 key: its JWK `x` and `y` (base64url). */
export interface EcPoint {
  readonly x: string;
  readonly y: string;
}

/** A new extractable ECDSA P-256 key pair. */
export function generateKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
}

/** PEM PKCS#8 of a private key, the form `Deno.serve` and `Deno.QuicEndpoint` take. */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  return pemEncode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

/** Imports a PEM PKCS#8 ECDSA P-256 private key (extractable); throws when the text is not one. */
export function privateKeyFromPem(pem: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("pkcs8", pemDecode(pem, "PRIVATE KEY"), ECDSA_P256, true, [
    "sign",
  ]);
}

/** The public point of an extractable P-256 key, private or public. */
export async function publicPointOf(key: CryptoKey): Promise<EcPoint> {
  const { x, y } = await crypto.subtle.exportKey("jwk", key);
  if (x === undefined || y === undefined) throw new Error("not an EC key");
  return { x, y };
}

/** Whether two points are the same key. */
export function samePoint(a: EcPoint, b: EcPoint): boolean {
  return a.x === b.x && a.y === b.y;
}
