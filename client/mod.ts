/**
 * The Switchyard client SDK: one realtime session over WebTransport, WebSocket
 * or SSE + POST, whichever works best, with no message lost or duplicated
 * across reconnects and transport switches. Zero runtime dependencies.
 *
 * This module is browser compatible.
 *
 * @example
 * ```ts
 * import { SwitchyardClient } from "./mod.ts";
 * const client = new SwitchyardClient("http://localhost:4480");
 * client.on("state", (s) => console.log("state", s));
 * const sub = client.subscribe("news", { onPublication: (pub) => console.log(pub.data) });
 * await sub.ready;
 * await client.publish("news", { title: "hello" });
 * ```
 *
 * @module
 */

export { SwitchyardClient } from "./switchyard_client.ts";
export type { ClientEvents, ClientOptions, ClientState } from "./client_options.ts";
export {
  type ClientErrorCode,
  type LocalErrorCode,
  SwitchyardClientError,
} from "./client_error.ts";
export type { ClientMetrics, TransportCounters } from "./client_metrics.ts";
export type { Listener } from "./emitter.ts";
export type { ErrorCode } from "../src/core/errors.ts";
export type { Publication, SubscribeOptions, Subscription } from "./subscription.ts";
export type { Bootstrap } from "./bootstrap.ts";
export type { StorageLike } from "./transport_cache.ts";
export {
  type ClientTransport,
  TRANSPORT_KINDS,
  type TransportEndpoint,
  type TransportKind,
  type TransportOpener,
  type TransportOpenOptions,
} from "./transport.ts";
export type { ClientInfo, StreamPosition, SubscribeResult } from "../src/core/protocol.ts";
