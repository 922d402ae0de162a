/**
 * Errors of the session gateway's process supervisor, each with a stable code.
 *
 * @module
 */

/**
 * Stable codes of {@linkcode GatewayError}:
 *
 * - `ERR_BAD_SESSION_ID`: the id does not match {@linkcode SESSION_ID_PATTERN}.
 * - `ERR_BAD_TEMPLATE`: the command template cannot be expanded (unknown placeholder, open quote).
 * - `ERR_COMMAND_NOT_FOUND`: the command's program is not on `PATH`.
 * - `ERR_SPAWN_FAILED`: any other spawn failure (missing working directory, not executable).
 * - `ERR_EXITED_BEFORE_READY`: the process exited before its readiness check passed.
 * - `ERR_EXITED`: the process exited after it had been ready (a crash; it is restarted).
 * - `ERR_READY_TIMEOUT`: the readiness check did not pass in time; the process group was killed.
 * - `ERR_CRASH_LOOP`: the process crashed more often than the restart policy allows.
 * - `ERR_STOPPED`: the session was stopped while someone waited for it to be ready.
 * - `ERR_NOT_STARTED`: the session was never started.
 * - `ERR_MAX_SESSIONS`: the gateway runs its maximum number of sessions already.
 * - `ERR_PORTS_EXHAUSTED`: no port of the gateway's range is free.
 * - `ERR_UNKNOWN_SESSION`: the gateway has no session with that id.
 * - `ERR_GATEWAY_CLOSED`: the gateway was closed; it starts nothing more.
 */
export type GatewayErrorCode =
  | "ERR_BAD_SESSION_ID"
  | "ERR_BAD_TEMPLATE"
  | "ERR_COMMAND_NOT_FOUND"
  | "ERR_SPAWN_FAILED"
  | "ERR_EXITED_BEFORE_READY"
  | "ERR_EXITED"
  | "ERR_READY_TIMEOUT"
  | "ERR_CRASH_LOOP"
  | "ERR_STOPPED"
  | "ERR_NOT_STARTED"
  | "ERR_MAX_SESSIONS"
  | "ERR_PORTS_EXHAUSTED"
  | "ERR_UNKNOWN_SESSION"
  | "ERR_GATEWAY_CLOSED";

/** Session ids: letters, digits and dashes, starting with a letter or digit, at most 63 long. */
export const SESSION_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/i;

/**
 * A failure of a session's process, with a code and a message that says what to do.
 *
 * @example
 * ```ts
 * import { GatewayError } from "./supervisor.ts";
 * const error = new GatewayError("ERR_READY_TIMEOUT", 'Session "a" was not ready within 30000 ms');
 * console.log(error.code); // "ERR_READY_TIMEOUT"
 * ```
 */
export class GatewayError extends Error {
  /** Stable code, e.g. `ERR_COMMAND_NOT_FOUND`. */
  readonly code: GatewayErrorCode;

  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(code: GatewayErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GatewayError";
    this.code = code;
  }
}
