/**
 * The transport adapters and the opener that picks one by kind.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { TransportKind, TransportOpener } from "../transport.ts";
import { openSse } from "./sse_transport.ts";
import { openWebSocket } from "./websocket_transport.ts";
import { openWebTransport } from "./webtransport_transport.ts";

export { openWebSocket } from "./websocket_transport.ts";
export { base64ToBytes, openWebTransport } from "./webtransport_transport.ts";
export { openSse, type SseOpenOptions } from "./sse_transport.ts";
export { DEFAULT_MAX_FRAME_BYTES, encodeLengthPrefixed, FrameParser } from "./frame_parser.ts";
export { EventStreamParser, type ServerSentEvent } from "./event_stream_parser.ts";
export { PostBatcher, type PostBatcherOptions } from "./post_batcher.ts";

/**
 * Whether this environment can open `kind` at all (SSE needs `EventSource` or
 * a streaming `fetch`).
 *
 * @example
 * ```ts
 * import { transportSupported } from "./mod.ts";
 * transportSupported("webtransport"); // false in Firefox < 114, true in Deno
 * ```
 */
export function transportSupported(kind: TransportKind): boolean {
  switch (kind) {
    case "webtransport":
      return typeof WebTransport !== "undefined";
    case "websocket":
      return typeof WebSocket !== "undefined";
    case "sse":
      return typeof EventSource !== "undefined" ||
        (typeof fetch !== "undefined" && typeof TextDecoderStream !== "undefined");
  }
}

/**
 * The opener the client uses unless given another: dispatches on `kind`.
 *
 * @example
 * ```ts
 * import { openTransport } from "./mod.ts";
 * const t = await openTransport("websocket", {
 *   endpoint: { url: "ws://localhost:4480/switchyard/ws" },
 *   signal: AbortSignal.timeout(3000),
 *   onFrame: console.log,
 *   onClose: console.log,
 * });
 * ```
 */
export const openTransport: TransportOpener = (kind, options) => {
  switch (kind) {
    case "webtransport":
      return openWebTransport(options);
    case "websocket":
      return openWebSocket(options);
    case "sse":
      return openSse(options);
  }
};
