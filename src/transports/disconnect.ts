/**
 * What every transport does when it must end a connection itself, before or
 * instead of the hub: send the `disconnect` frame, then close with its code.
 *
 * @module
 */

import type { Connection } from "../core/connection.ts";
import { closeCodeOf, type SwitchyardError } from "../core/errors.ts";
import type { Hub } from "../core/hub.ts";
import { encodeFrame } from "../core/protocol.ts";

/** The part of the hub a transport uses: `open()` for connections, `stats` to count refusals. */
export type HubPort = Pick<Hub, "open" | "stats">;

/** Longest close reason sent: WebSocket allows 123 bytes. */
const MAX_REASON_BYTES = 120;

/**
 * Send `err` as a `disconnect` frame on `conn`, then close it with the error's
 * close code (3006 for an error code that never closes a connection).
 *
 * @example
 * ```ts ignore
 * import { SwitchyardError } from "../core/mod.ts";
 * import { disconnect } from "./mod.ts";
 * declare const conn: import("../core/mod.ts").Connection;
 * disconnect(conn, new SwitchyardError("ERR_BAD_FRAME", "Malformed frame: binary messages are not accepted"));
 * ```
 */
export function disconnect(conn: Connection, err: SwitchyardError): void {
  const code = closeCodeOf(err.code) ?? 3006;
  conn.send(encodeFrame({
    type: "disconnect",
    code,
    error: err.code,
    reason: err.message,
    reconnect: code < 3500,
  }));
  conn.close(code, truncateUtf8(err.message, MAX_REASON_BYTES));
}

/** `text` cut to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(text: string, max: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= max) return text;
  return new TextDecoder().decode(bytes.subarray(0, max)).replace(/\uFFFD$/, "");
}

/**
 * Whether `text` takes more than `max` bytes in UTF-8. Counts without encoding,
 * and answers from the length alone when it can.
 */
export function exceedsUtf8(text: string, max: number): boolean {
  if (text.length > max) return true;
  if (text.length * 3 <= max) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A surrogate pair is 4 bytes: 2 per half.
    bytes += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd800 && c <= 0xdfff) ? 2 : 3;
  }
  return bytes > max;
}
