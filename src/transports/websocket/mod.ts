/**
 * The WebSocket transport: one text message per frame.
 *
 * @example
 * ```ts ignore
 * import { acceptWebSocket } from "./mod.ts";
 * declare const hub: import("../../core/mod.ts").Hub;
 * Deno.serve((req, info) =>
 *   acceptWebSocket(req, { hub, remoteAddress: info.remoteAddr.hostname, maxMessageBytes: 65_536 })
 *     .response
 * );
 * ```
 *
 * @module
 */

export {
  acceptWebSocket,
  WebSocketTransport,
  type WebSocketTransportOptions,
} from "./websocket_transport.ts";
