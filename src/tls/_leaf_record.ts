/**
 * Private to src/tls: `leaf.json`, the record the manager writes next to `leaf.crt` when it
 * issues or fully checks a leaf. It holds what a restart needs to know about the leaf and the CA
 * that signed it — validity, names, public keys — each tied to its certificate by the SHA-256 of
 * the DER. A warm start then checks the persisted files with two hashes and two key imports
 * instead of loading an X.509 parser (about 130 ms and 25 MB).
 *
 * The record is a cache, not a trust anchor: a record that does not match the files is ignored
 * and the files are checked in full. Whoever can write it can also replace `ca.key`, which sits
 * in the same directory. It holds no secret and may be deleted.
 *
 * @module
 */

import type { EcPoint } from "./_keys.ts";
import { privateKeyFromPem, publicPointOf, samePoint } from "./_keys.ts";
import { pemDecode, pemEncode } from "./_pem.ts";
import { hashOfDer, type LeafCertificate } from "./leaf_certificate.ts";

const VERSION = 1;
const NOTE = "Written by Switchyard when it issues or checks leaf.crt, so that a restart can " +
  "reuse it without parsing it. No secrets; safe to delete.";

/** What the record says about one certificate. */
export interface CertificateFacts {
  /** SHA-256 of the certificate's DER, base64. */
  readonly sha256: string;
  /** Start of validity, ms since the epoch. */
  readonly notBefore: number;
  /** End of validity, ms since the epoch. */
  readonly notAfter: number;
  /** The certificate's public key. */
  readonly publicKey: EcPoint;
}

/** The contents of `leaf.json`. */
export interface LeafRecord {
  /** The leaf, with the names of its subject alternative names as in {@linkcode LeafCertificate}. */
  readonly leaf: CertificateFacts & { readonly hostnames: readonly string[] };
  /** The CA that signed the leaf, as it was checked in full when the record was written. */
  readonly ca: CertificateFacts;
}

/** The PEM certificate text of a file, re-encoded, and the SHA-256 of its DER. */
export interface HashedCertificate {
  readonly certPem: string;
  readonly sha256: string;
}

/** Decodes and hashes a PEM certificate; throws when the text holds no `CERTIFICATE` block. */
export async function hashCertificate(certPem: string): Promise<HashedCertificate> {
  const der = pemDecode(certPem, "CERTIFICATE");
  return { certPem: pemEncode(der, "CERTIFICATE"), sha256: (await hashOfDer(der)).base64 };
}

/**
 * The record of `leaf` under the CA `ca` describes. The leaf must have been issued or checked in
 * full, so that its key is the certificate's: the record vouches for both at the next start.
 */
export async function leafRecordOf(
  leaf: LeafCertificate,
  ca: CertificateFacts,
): Promise<LeafRecord> {
  const publicKey = await publicPointOf(await privateKeyFromPem(leaf.keyPem));
  const { hash, notBefore, notAfter, hostnames } = leaf;
  return {
    leaf: {
      sha256: hash.base64,
      notBefore: notBefore.getTime(),
      notAfter: notAfter.getTime(),
      publicKey,
      hostnames,
    },
    ca,
  };
}

/** The text of `leaf.json` for `record`. */
export function formatLeafRecord(record: LeafRecord): string {
  const facts = (f: CertificateFacts) => ({
    sha256: f.sha256,
    notBefore: new Date(f.notBefore).toISOString(),
    notAfter: new Date(f.notAfter).toISOString(),
    publicKey: { x: f.publicKey.x, y: f.publicKey.y },
  });
  const json = {
    version: VERSION,
    note: NOTE,
    leaf: { ...facts(record.leaf), hostnames: record.leaf.hostnames },
    ca: facts(record.ca),
  };
  return JSON.stringify(json, null, 2) + "\n";
}

/** The record in `text`, or `undefined` when it is not one of this version. */
export function parseLeafRecord(text: string): LeafRecord | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(json) || json.version !== VERSION || !isObject(json.leaf)) return undefined;
  const leaf = factsOf(json.leaf);
  const ca = factsOf(json.ca);
  const hostnames = json.leaf.hostnames;
  if (leaf === undefined || ca === undefined) return undefined;
  if (!Array.isArray(hostnames) || !hostnames.every((h) => typeof h === "string")) return undefined;
  return { leaf: { ...leaf, hostnames }, ca };
}

/**
 * Whether `ca.crt` (hashed) and `ca.key` are the CA the record was written under, inside its
 * validity at `now`. Throws when the key is not a PEM PKCS#8 P-256 key.
 */
export async function isRecordedCa(
  record: LeafRecord,
  files: { cert: HashedCertificate; keyPem: string },
  now: number,
): Promise<boolean> {
  const { ca } = record;
  if (files.cert.sha256 !== ca.sha256 || now < ca.notBefore || now >= ca.notAfter) return false;
  return samePoint(await publicPointOf(await privateKeyFromPem(files.keyPem)), ca.publicKey);
}

/**
 * The leaf in `leaf.crt` and `leaf.key` when it is the one the record describes, the record was
 * written under the CA whose certificate hashes to `caSha256`, and the key belongs to the
 * certificate; else `undefined`. Freshness and names are the caller's policy. Throws on text that
 * is not PEM.
 */
export async function recordedLeaf(
  record: LeafRecord,
  files: { certPem: string; keyPem: string },
  caSha256: string,
): Promise<LeafCertificate | undefined> {
  if (record.ca.sha256 !== caSha256) return undefined;
  const der = pemDecode(files.certPem, "CERTIFICATE");
  const hash = await hashOfDer(der);
  if (hash.base64 !== record.leaf.sha256) return undefined;
  const key = await privateKeyFromPem(files.keyPem);
  if (!samePoint(await publicPointOf(key), record.leaf.publicKey)) return undefined;
  return {
    certPem: pemEncode(der, "CERTIFICATE"),
    keyPem: files.keyPem,
    hash,
    notBefore: new Date(record.leaf.notBefore),
    notAfter: new Date(record.leaf.notAfter),
    hostnames: [...record.leaf.hostnames],
  };
}

function factsOf(value: unknown): CertificateFacts | undefined {
  if (!isObject(value) || typeof value.sha256 !== "string" || !isObject(value.publicKey)) {
    return undefined;
  }
  const { x, y } = value.publicKey;
  const notBefore = typeof value.notBefore === "string" ? Date.parse(value.notBefore) : NaN;
  const notAfter = typeof value.notAfter === "string" ? Date.parse(value.notAfter) : NaN;
  if (typeof x !== "string" || typeof y !== "string") return undefined;
  if (!Number.isFinite(notBefore) || !Number.isFinite(notAfter)) return undefined;
  return { sha256: value.sha256, notBefore, notAfter, publicKey: { x, y } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
