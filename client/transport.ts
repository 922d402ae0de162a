/**
 * The seam between the client and its transports.
 *
 * Each adapter in `transports/` turns one connection (WebTransport, WebSocket,
 * SSE + POST) into a stream of frame texts. Adapters know nothing of sessions,
 * channels or frames' meaning: the client sends `connect` itself once
 * {@linkcode TransportOpener} has resolved.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * The transports Switchyard speaks, as named in `bootstrap.json`.
 *
 * @example
 * ```ts
 * import { SwitchyardClient, type TransportKind } from "./mod.ts";
 * const order: TransportKind[] = ["websocket", "sse"];
 * new SwitchyardClient("http://localhost:4480", { transports: order });
 * ```
 */
export type TransportKind = "webtransport" | "websocket" | "sse";

/**
 * Every transport kind, best first (the default order).
 *
 * @example
 * ```ts
 * import { TRANSPORT_KINDS } from "./mod.ts";
 * console.log(TRANSPORT_KINDS); // ["webtransport", "websocket", "sse"]
 * ```
 */
export const TRANSPORT_KINDS: readonly TransportKind[] = ["webtransport", "websocket", "sse"];

/**
 * Where and how to reach one transport: an entry of `bootstrap.json`'s `transports`.
 *
 * @example
 * ```ts
 * import type { TransportEndpoint } from "./mod.ts";
 * const ws: TransportEndpoint = { url: "ws://localhost:4480/switchyard/ws" };
 * ```
 */
export interface TransportEndpoint {
  /** Absolute URL of the transport's endpoint. */
  url: string;
  /** WebTransport only: base64 SHA-256 hashes of the server's leaf certificate(s). */
  certificateHashes?: string[];
  /** The server's `maxMessageBytes` (SSE caps its POST bodies at 16 times this). */
  maxMessageBytes?: number;
}

/**
 * What an adapter needs to open one connection.
 *
 * @example
 * ```ts
 * import type { TransportOpenOptions } from "./mod.ts";
 * const options: TransportOpenOptions = {
 *   endpoint: { url: "ws://localhost:4480/switchyard/ws" },
 *   signal: AbortSignal.timeout(3000),
 *   onFrame: (frame) => console.log(frame),
 *   onClose: (code) => console.log("closed", code),
 * };
 * ```
 */
export interface TransportOpenOptions {
  /** Where to connect (from the bootstrap). */
  endpoint: TransportEndpoint;
  /** Aborted when the attempt times out or the client gives up: the adapter rejects and cleans up. */
  signal: AbortSignal;
  /** One frame (JSON text) arrived, already unframed. Called in arrival order. */
  onFrame(frame: string): void;
  /**
   * The connection ended without `close()` being called: the peer closed it
   * (`code` is the close code it sent, if the transport carries one) or the
   * network failed (`code` 1006). Called at most once, never after `close()`.
   */
  onClose(code: number, reason: string): void;
}

/**
 * One open transport connection.
 *
 * Rules: frames are delivered to the server in `send()` order; `send()` never
 * throws (a dead connection drops the frame and reports `onClose`); after
 * `close()` no callback fires. `close()` flushes frames already passed to
 * `send()` where the transport allows it.
 *
 * @example
 * ```ts
 * import type { ClientTransport } from "./mod.ts";
 * const loopback: ClientTransport = { kind: "websocket", send: console.log, close() {} };
 * ```
 */
export interface ClientTransport {
  /** Which transport this is. */
  readonly kind: TransportKind;
  /** Queue one frame (JSON text) for the server. */
  send(frame: string): void;
  /** Close the connection from the client side. */
  close(): void;
}

/**
 * Opens a connection of `kind`; resolves once frames can be sent (WebSocket
 * open, WebTransport stream ready, SSE `open` event received) and rejects when
 * that fails or `options.signal` aborts.
 *
 * @example
 * ```ts
 * import type { TransportOpener } from "./transport.ts";
 * const never: TransportOpener = () => Promise.reject(new Error("Offline"));
 * ```
 */
export type TransportOpener = (
  kind: TransportKind,
  options: TransportOpenOptions,
) => Promise<ClientTransport>;
