/**
 * TLS for Switchyard: a local certificate authority kept in a cert directory, short-lived ECDSA
 * P-256 leaf certificates for `localhost`, `127.0.0.1`, `::1` (and extra names) that work with
 * `Deno.serve`, `Deno.QuicEndpoint` and Chromium's WebTransport `serverCertificateHashes`, and a
 * {@linkcode CertificateManager} that renews the leaf without a restart.
 *
 * @example
 * ```ts
 * import { CertificateManager } from "./mod.ts";
 * const certs = await CertificateManager.open({ dir: ".switchyard/certs" });
 * const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 4433 });
 * const listener = endpoint.listen({
 *   cert: certs.current.certPem,
 *   key: certs.current.keyPem,
 *   alpnProtocols: ["h3"],
 * });
 * // Browsers get certs.hashes (base64) from the HTTP side and pass them as
 * // serverCertificateHashes: [{ algorithm: "sha-256", value }].
 * ```
 *
 * @module
 */

export {
  CA_CERT_FILE,
  CA_KEY_FILE,
  CA_VALIDITY_MS,
  CertificateAuthority,
  CLOCK_SKEW_MS,
  DEFAULT_LEAF_VALIDITY_MS,
  type IssueOptions,
  MAX_LEAF_VALIDITY_MS,
} from "./certificate_authority.ts";
export { CertificateError, type CertificateErrorCode } from "./certificate_error.ts";
export {
  CertificateManager,
  type CertificateManagerOptions,
  DEFAULT_CHECK_INTERVAL_MS,
  DEFAULT_RENEW_BEFORE_MS,
  LEAF_CERT_FILE,
  LEAF_KEY_FILE,
  LEAF_RECORD_FILE,
  type RenewListener,
} from "./certificate_manager.ts";
export {
  type CertificateHash,
  certificateHash,
  DEFAULT_HOSTNAMES,
  type LeafCertificate,
  type SubjectAltName,
  subjectAltName,
} from "./leaf_certificate.ts";
