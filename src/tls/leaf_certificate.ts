/**
 * The server ("leaf") certificate: its shape, its SHA-256 hash for WebTransport's
 * `serverCertificateHashes`, and the hostname rules it is issued under.
 *
 * @module
 */

import { CertificateError } from "./certificate_error.ts";
import { keyMatches, privateKeyFromPem, x509 } from "./_x509.ts";

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
 *
 * @example
 * ```ts ignore
 * import { certificateHash } from "./mod.ts";
 * declare const certPem: string;
 * const hash = await certificateHash(certPem);
 * new WebTransport("https://127.0.0.1:4433/", { serverCertificateHashes: [hash] });
 * ```
 */
export function certificateHash(certPem: string): Promise<CertificateHash> {
  return hashOf(new x509.X509Certificate(certPem));
}

async function hashOf(cert: x509.X509Certificate): Promise<CertificateHash> {
  const value = new Uint8Array(await cert.getThumbprint("SHA-256"));
  return { algorithm: "sha-256", value, base64: value.toBase64() };
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
    hash: await hashOf(cert),
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
