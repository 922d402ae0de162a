/**
 * Error codes and close codes of the Switchyard protocol.
 *
 * Every error a client can observe has a stable string `code`. Errors that end
 * a connection also carry a numeric close `closeCode` whose range tells the
 * client what to do:
 *
 * | range     | meaning                                                        |
 * |-----------|----------------------------------------------------------------|
 * | 3000–3499 | transient: reconnect (with backoff) and resume the session     |
 * | 3500–3999 | permanent: do not reconnect until something changes (token, …) |
 * | 4000–4999 | reserved for the application                                   |
 *
 * This module is browser compatible.
 *
 * @module
 */

/** What a client does after a connection ends with a given close code. */
export type CloseAdvice = "reconnect" | "stop" | "application";

/** Description of one protocol error code. */
export interface ErrorInfo {
  /** Close code sent when the error ends the connection; `undefined` when it never does. */
  readonly closeCode?: number;
  /** One line for humans: what happened and, where there is one, the fix. */
  readonly summary: string;
}

/** Every error code of the protocol. docs/protocol.md lists the same table. */
export const ERRORS = {
  ERR_BAD_FRAME: { closeCode: 3500, summary: "A frame could not be parsed or is missing a field" },
  ERR_MESSAGE_TOO_LARGE: {
    closeCode: 3501,
    summary: "A frame is larger than limits.max_message_bytes",
  },
  ERR_UNAUTHORIZED: {
    closeCode: 3502,
    summary: "The connection token is missing, malformed, wrongly signed or uses a refused alg",
  },
  ERR_FORBIDDEN_ORIGIN: {
    closeCode: 3503,
    summary: "The page's Origin is not in allowed_origins",
  },
  ERR_NOT_CONNECTED: {
    closeCode: 3504,
    summary: "The first frame of a connection must be `connect`",
  },
  ERR_BANNED: { closeCode: 3505, summary: "The server refused this client for good" },
  ERR_SHUTDOWN: { closeCode: 3000, summary: "The server is shutting down: reconnect elsewhere" },
  ERR_TRANSPORT_REPLACED: {
    closeCode: 3001,
    summary: "The session moved to another transport; this one is closed",
  },
  ERR_PING_TIMEOUT: { closeCode: 3002, summary: "No frame arrived within the ping timeout" },
  ERR_SLOW_CONSUMER: {
    closeCode: 3003,
    summary: "The client did not read fast enough and its send buffer overflowed",
  },
  ERR_TOKEN_EXPIRED: {
    closeCode: 3004,
    summary: "The connection token expired: get a fresh token and reconnect",
  },
  ERR_CONNECTION_LIMIT: {
    closeCode: 3005,
    summary: "Too many connections (limits.max_connections or max_connections_per_ip)",
  },
  ERR_INTERNAL: { closeCode: 3006, summary: "The server failed unexpectedly" },
  ERR_SESSION_CLOSED: { closeCode: 3007, summary: "The session was closed by the server" },
  ERR_FORBIDDEN: { summary: "This client may not do that on that channel" },
  ERR_BAD_CHANNEL: { summary: "The channel name is invalid or its namespace is unknown" },
  ERR_CHANNEL_LIMIT: { summary: "The session is subscribed to limits.max_channels_per_session" },
  ERR_ALREADY_SUBSCRIBED: { summary: "The session is already subscribed to that channel" },
  ERR_NOT_SUBSCRIBED: { summary: "The session is not subscribed to that channel" },
  ERR_RATE_LIMIT: { summary: "Too many publishes: limits.publish_rate per second exceeded" },
  ERR_METHOD_NOT_FOUND: { summary: "No RPC method is registered under that name" },
  ERR_BAD_REQUEST: { summary: "The request is well-formed but its arguments are not valid" },
  ERR_UNAVAILABLE: {
    closeCode: 3008,
    summary: "A dependency of the server is down: retry later",
  },
} as const satisfies Record<string, ErrorInfo>;

/** A protocol error code. */
export type ErrorCode = keyof typeof ERRORS;

/** The error every layer of Switchyard throws for conditions a client can observe. */
export class SwitchyardError extends Error {
  /** Stable code, e.g. `ERR_CHANNEL_LIMIT`. */
  readonly code: ErrorCode;

  /**
   * @example
   * ```ts
   * import { SwitchyardError } from "./errors.ts";
   * const err = new SwitchyardError("ERR_CHANNEL_LIMIT", 'Cannot subscribe to "chat:lobby": limit of 128 channels reached');
   * console.log(err.code, err.closeCode); // "ERR_CHANNEL_LIMIT" undefined
   * ```
   */
  constructor(code: ErrorCode, message: string = ERRORS[code].summary) {
    super(message);
    this.name = "SwitchyardError";
    this.code = code;
  }

  /** The close code this error ends a connection with, if it does. */
  get closeCode(): number | undefined {
    return closeCodeOf(this.code);
  }
}

/** The close code for an error code, or `undefined` when the error never closes a connection. */
export function closeCodeOf(code: ErrorCode): number | undefined {
  return (ERRORS[code] as ErrorInfo).closeCode;
}

/** What a client should do after a connection closed with `closeCode`. */
export function adviceFor(closeCode: number): CloseAdvice {
  if (closeCode >= 4000 && closeCode <= 4999) return "application";
  if (closeCode >= 3500 && closeCode <= 3999) return "stop";
  return "reconnect";
}

/** The error code that owns a close code, if any. */
export function codeForClose(closeCode: number): ErrorCode | undefined {
  for (const [code, info] of Object.entries(ERRORS) as [ErrorCode, ErrorInfo][]) {
    if (info.closeCode === closeCode) return code;
  }
  return undefined;
}

/** `err` itself when it is a `SwitchyardError`; else `ERR_INTERNAL`, hiding the details from clients. */
export function toProtocolError(err: unknown): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  return new SwitchyardError("ERR_INTERNAL", "Internal server error");
}
