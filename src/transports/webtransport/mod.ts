/**
 * The WebTransport transport: one client-opened bidirectional stream carrying
 * length-prefixed JSON frames both ways.
 *
 * @example
 * ```ts ignore
 * import { WebTransportTransport } from "./mod.ts";
 * declare const hub: import("../../core/mod.ts").Hub;
 * declare const wt: WebTransport & { url: string };
 * WebTransportTransport.serve(wt, { hub, remoteAddress: "127.0.0.1", maxMessageBytes: 65_536 });
 * ```
 *
 * @module
 */

export { encodeLengthPrefixed, FrameDecoder } from "./frame_decoder.ts";
export {
  type ServerWebTransport,
  WebTransportTransport,
  type WebTransportTransportOptions,
  WT_CLOSE_LINGER_MS,
  WT_STREAM_TIMEOUT_MS,
} from "./webtransport_transport.ts";
