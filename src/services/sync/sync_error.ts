/**
 * Errors of the document sync service, each with a stable code that the
 * endpoints map to their own form (an RPC error, a WebSocket close, an HTTP
 * status) — see `SYNC_ERROR_STATUS`.
 *
 * @module
 */

/** Codes of {@linkcode SyncError}. */
export type SyncErrorCode =
  | "ERR_BAD_DOC_NAME"
  | "ERR_BAD_UPDATE"
  | "ERR_UPDATE_TOO_LARGE"
  | "ERR_DOC_TOO_LARGE"
  | "ERR_SYNC_LIMIT"
  | "ERR_READ_ONLY"
  | "ERR_FORBIDDEN"
  | "ERR_UNAVAILABLE"
  | "ERR_STORE_OPEN";

/** HTTP status for each code (the HTTP API uses it; the others pick their own form). */
export const SYNC_ERROR_STATUS: Readonly<Record<SyncErrorCode, number>> = {
  ERR_BAD_DOC_NAME: 400,
  ERR_BAD_UPDATE: 400,
  ERR_UPDATE_TOO_LARGE: 413,
  ERR_DOC_TOO_LARGE: 413,
  ERR_SYNC_LIMIT: 503,
  ERR_READ_ONLY: 403,
  ERR_FORBIDDEN: 403,
  ERR_UNAVAILABLE: 503,
  ERR_STORE_OPEN: 500,
};

/** A sync failure with a code and a message that says what to do. */
export class SyncError extends Error {
  readonly code: SyncErrorCode;

  constructor(code: SyncErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SyncError";
    this.code = code;
  }
}
