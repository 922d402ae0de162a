/**
 * The error the client rejects with and emits.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { codeForClose, type ErrorCode } from "../src/core/errors.ts";

/**
 * Codes only the client produces (the server's codes are in `src/core/errors.ts`).
 *
 * @example
 * ```ts
 * import type { LocalErrorCode } from "./mod.ts";
 * const code: LocalErrorCode = "ERR_CONNECT_TIMEOUT";
 * ```
 */
export type LocalErrorCode =
  /** `close()` was called: the session is over. */
  | "ERR_CLIENT_CLOSED"
  /** A transport did not connect within `attemptTimeoutMs`. */
  | "ERR_CONNECT_TIMEOUT"
  /** A transport failed to open or closed before `connected`. */
  | "ERR_TRANSPORT_FAILED"
  /** No transport is both supported here and offered by the server. */
  | "ERR_NO_TRANSPORT"
  /** `GET /switchyard/bootstrap.json` failed or returned something else. */
  | "ERR_BOOTSTRAP"
  /** `getToken()` threw. */
  | "ERR_TOKEN_PROVIDER"
  /** The server closed with an application close code (4000–4999). */
  | "ERR_APPLICATION";

/**
 * Every code a {@linkcode SwitchyardClientError} can carry.
 *
 * @example
 * ```ts
 * import { SwitchyardClient, type ClientErrorCode } from "./mod.ts";
 * const client = new SwitchyardClient("http://localhost:4480");
 * client.on("error", (err) => {
 *   const code: ClientErrorCode = err.code;
 *   if (code === "ERR_UNAUTHORIZED") console.log("log in again");
 * });
 * ```
 */
export type ClientErrorCode = ErrorCode | LocalErrorCode;

/**
 * An error with a stable `code` and, when it ended a connection, the `closeCode`.
 *
 * @example
 * ```ts
 * import { SwitchyardClientError } from "./mod.ts";
 * try {
 *   throw new SwitchyardClientError("ERR_CLIENT_CLOSED", "The client is closed");
 * } catch (err) {
 *   if (err instanceof SwitchyardClientError) console.log(err.code);
 * }
 * ```
 */
export class SwitchyardClientError extends Error {
  /** Stable code, e.g. `ERR_FORBIDDEN` or `ERR_CONNECT_TIMEOUT`. */
  readonly code: ClientErrorCode;
  /** The close code of the connection this error ended, if any. */
  readonly closeCode?: number;

  /** An error with `code`, a sentence-case `message`, and the `closeCode` that ended a connection. */
  constructor(code: ClientErrorCode, message: string, closeCode?: number) {
    super(message);
    this.name = "SwitchyardClientError";
    this.code = code;
    if (closeCode !== undefined) this.closeCode = closeCode;
  }
}

/**
 * The error for a connection that ended with `closeCode`: the server's code for
 * it when the protocol defines one.
 *
 * @example
 * ```ts
 * import { closeError } from "./client_error.ts";
 * closeError(3502, "bad token").code; // "ERR_UNAUTHORIZED"
 * ```
 */
export function closeError(
  closeCode: number,
  reason: string,
  code?: ClientErrorCode,
): SwitchyardClientError {
  const known = code ?? codeForClose(closeCode) ??
    (closeCode >= 4000 && closeCode <= 4999 ? "ERR_APPLICATION" : "ERR_TRANSPORT_FAILED");
  const message = reason === ""
    ? `Connection closed with code ${closeCode}`
    : `Connection closed with code ${closeCode}: ${reason}`;
  return new SwitchyardClientError(known, message, closeCode);
}

/**
 * The error for anything attempted after `close()`.
 *
 * @example
 * ```ts
 * import { closedError } from "./client_error.ts";
 * closedError().code; // "ERR_CLIENT_CLOSED"
 * ```
 */
export function closedError(): SwitchyardClientError {
  return new SwitchyardClientError("ERR_CLIENT_CLOSED", "The client is closed: create a new one");
}

/**
 * Wrap anything thrown as a {@linkcode SwitchyardClientError}.
 *
 * @example
 * ```ts
 * import { asClientError } from "./client_error.ts";
 * asClientError(new Error("boom")).code; // "ERR_TRANSPORT_FAILED"
 * ```
 */
export function asClientError(err: unknown): SwitchyardClientError {
  if (err instanceof SwitchyardClientError) return err;
  return new SwitchyardClientError("ERR_TRANSPORT_FAILED", errorText(err));
}

/**
 * The message of anything thrown.
 *
 * @example
 * ```ts
 * import { errorText } from "./client_error.ts";
 * errorText(new Error("boom")); // "boom"
 * ```
 */
export function errorText(err: unknown): string {
  return String((err as Error)?.message ?? err);
}
