/**
 * The seam between transports and the hub.
 *
 * A transport wraps each accepted connection in a {@linkcode Connection} and
 * hands it to `Hub.open()`, which returns the {@linkcode Link} the transport
 * feeds with the frames it receives. Transports know nothing of channels;
 * the hub knows nothing of sockets.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** The transports Switchyard speaks. */
export type TransportKind = "webtransport" | "websocket" | "sse";

/** Every transport kind, best first. */
export const TRANSPORT_KINDS: readonly TransportKind[] = ["webtransport", "websocket", "sse"];

/** One transport connection, as the hub sees it. */
export interface Connection {
  readonly transport: TransportKind;
  /** Remote IP address, for per-IP limits and logs. */
  readonly remoteAddress: string;
  /** Queue one encoded frame. Must not throw; a dead connection drops it. */
  send(frame: string): void;
  /** Close the connection with a protocol close code (see errors.ts). */
  close(code: number, reason: string): void;
  /** Bytes queued for sending and not yet written (0 when unknown). */
  readonly bufferedAmount: number;
}

/** What the transport calls for a connection it gave to the hub. */
export interface Link {
  /** One frame arrived (its text, already unframed). */
  receive(frame: string): void;
  /** The connection is gone, whatever the reason. Idempotent. */
  closed(): void;
}
