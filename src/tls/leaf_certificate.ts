/**
 * The server ("leaf") certificate: its shape, its SHA-256 hash for WebTransport's
 * `serverCertificateHashes`, and the hostname rules it is issued under.
 *
 * @module
 */

import { CertificateError } from "./certificate_error.ts";
import { pemDecode } from "./_pem.ts";

/** Hostnames every leaf covers; extra ones are added after these. */
export const DEFAULT_HOSTNAMES: readonly string[] = ["localhost", "127.0.0.1", "::1"];

/**
 * SHA-256 of a certificate's DER. `{algorithm, value}` is a `WebTransportHash`, so a hash can be
 * passed as is in `new WebTransport(url, { serverCertificateHashes: [hash] })`.
 */
export interface CertificateHash {
  /** Always `"sha-256"`, the only algorithm browsers accept. */
  readonly algorithm: "sha-256";
  /** The 32 hash bytes. */
  readonly value: Uint8Array<ArrayBuffer>;
  /** The same bytes in base64, for sending to a browser in JSON. */
  readonly base64: string;
}

/** A leaf certificate with its key, in the forms `Deno.serve` and `Deno.QuicEndpoint` take. */
export interface LeafCertificate {
  /** The certificate in PEM. */
  readonly certPem: string;
  /** Its private key, PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`). */
  readonly keyPem: string;
  /** SHA-256 of the certificate's DER. */
  readonly hash: CertificateHash;
  /** Start of validity (issue time less one hour of allowance for clock skew). */
  readonly notBefore: Date;
  /** End of validity. */
  readonly notAfter: Date;
  /** Normalised DNS names and IP addresses of its subject alternative names. */
  readonly hostnames: readonly string[];
}

/** One subject alternative name entry. */
export interface SubjectAltName {
  /** `"dns"` for a name, `"ip"` for an IPv4 or IPv6 address. */
  readonly type: "dns" | "ip";
  /** The name, lower-cased (punycode for IDNs), or the address in canonical text form. */
  readonly value: string;
}

/**
 * Classifies and normalises a hostname or IP address the way a URL would (`LOCALHOST` →
 * `localhost`, `[::1]` → `::1`, `0:0::1` → `::1`); throws `ERR_BAD_HOSTNAME` otherwise.
 *
 * @example
 * ```ts
 * import { subjectAltName } from "./mod.ts";
 * subjectAltName("[::1]"); // { type: "ip", value: "::1" }
 * ```
 */
export function subjectAltName(hostname: string): SubjectAltName {
  const bare = hostname.startsWith("[") && hostname.endsWith("]")
    ? hostname.slice(1, -1)
    : hostname;
  const bad = () =>
    new CertificateError(
      "ERR_BAD_HOSTNAME",
      `Cannot issue a certificate for "${hostname}": not a hostname or IP address`,
    );
  if (bare === "" || /[\s/\\@?#%]/.test(bare)) throw bad();
  let host: string;
  try {
    host = new URL(`https://${bare.includes(":") ? `[${bare}]` : bare}/`).hostname;
  } catch {
    throw bad();
  }
  if (host.startsWith("[")) return { type: "ip", value: host.slice(1, -1) };
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return { type: "ip", value: host };
  return { type: "dns", value: host };
}

/** {@linkcode DEFAULT_HOSTNAMES} then `extra`, normalised and without duplicates. */
export function leafSubjectAltNames(extra: readonly string[] = []): SubjectAltName[] {
  const seen = new Map<string, SubjectAltName>();
  for (const name of [...DEFAULT_HOSTNAMES, ...extra]) {
    const san = subjectAltName(name);
    seen.set(`${san.type}:${san.value}`, san);
  }
  return [...seen.values()];
}

/**
 * SHA-256 of a PEM certificate's DER, as WebTransport's `serverCertificateHashes` wants it.
 * Rejects when `certPem` holds no `CERTIFICATE` block; the DER itself is hashed, not parsed, so
 * this needs no X.509 library.
 *
 * @example
 * ```ts ignore
 * import { certificateHash } from "./mod.ts";
 * declare const certPem: string;
 * const hash = await certificateHash(certPem);
 * new WebTransport("https://127.0.0.1:4433/", { serverCertificateHashes: [hash] });
 * ```
 */
export async function certificateHash(certPem: string): Promise<CertificateHash> {
  return await hashOfDer(pemDecode(certPem, "CERTIFICATE"));
}

/** SHA-256 of a certificate's DER bytes. */
export async function hashOfDer(der: Uint8Array<ArrayBuffer>): Promise<CertificateHash> {
  const value = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return { algorithm: "sha-256", value, base64: value.toBase64() };
}
