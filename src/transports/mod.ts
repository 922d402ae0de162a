/**
 * Transports: each turns one kind of connection into frames for the hub
 * (`Hub.open()` → `Link`). They know nothing of channels or sessions.
 *
 * @example
 * ```ts
 * import { acceptWebSocket, SseEndpoint, WebTransportTransport } from "./mod.ts";
 * ```
 *
 * @module
 */

export { disconnect, exceedsUtf8, type HubPort, truncateUtf8 } from "./disconnect.ts";
export * from "./websocket/mod.ts";
export * from "./sse/mod.ts";
export * from "./webtransport/mod.ts";
