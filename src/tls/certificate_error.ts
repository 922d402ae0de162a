/**
 * The error the certificate code throws for problems an operator must fix.
 *
 * @module
 */

/**
 * Stable codes of {@linkcode CertificateError}:
 *
 * - `ERR_CERT_DIR`: the cert directory cannot be created or written.
 * - `ERR_CA_UNREADABLE`: the CA certificate or key is missing, corrupt, unreadable or mismatched.
 * - `ERR_CA_EXPIRED`: the CA certificate is outside its validity period.
 * - `ERR_BAD_HOSTNAME`: a hostname or IP address for the leaf is malformed.
 * - `ERR_BAD_OPTION`: a validity or renewal option is out of range.
 */
export type CertificateErrorCode =
  | "ERR_CERT_DIR"
  | "ERR_CA_UNREADABLE"
  | "ERR_CA_EXPIRED"
  | "ERR_BAD_HOSTNAME"
  | "ERR_BAD_OPTION";

/**
 * A certificate problem at startup or renewal. The message names the path and the fix.
 *
 * @example
 * ```ts
 * import { CertificateError } from "./mod.ts";
 * const error = new CertificateError(
 *   "ERR_CA_UNREADABLE",
 *   "Cannot read CA key in /x/ca.key: delete the cert directory /x to create a new CA",
 * );
 * console.log(error.code); // "ERR_CA_UNREADABLE"
 * ```
 */
export class CertificateError extends Error {
  /** Stable code, e.g. `ERR_CA_UNREADABLE`. */
  readonly code: CertificateErrorCode;

  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(code: CertificateErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CertificateError";
    this.code = code;
  }
}
