/**
 * The Server-Sent Events + POST transport: frames go out as events of a
 * `text/event-stream` response and come in as lines of POST bodies.
 *
 * @example
 * ```ts ignore
 * import { SseEndpoint } from "./mod.ts";
 * declare const hub: import("../../core/mod.ts").Hub;
 * const sse = new SseEndpoint({ hub, maxMessageBytes: 65_536 });
 * const { response } = sse.open({ remoteAddress: "127.0.0.1" });
 * ```
 *
 * @module
 */

export {
  SSE_HEADERS,
  SSE_KEEP_ALIVE_MS,
  SSE_MAX_BODY_FACTOR,
  SseEndpoint,
  type SseEndpointOptions,
  type SseOpenOptions,
} from "./sse_endpoint.ts";
export { SseTransport, type SseTransportOptions } from "./sse_transport.ts";
