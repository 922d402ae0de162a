/**
 * The WebSocket transport: one text message per frame (docs/protocol.md).
 *
 * @module
 */

import type { Connection, Link } from "../../core/connection.ts";
import { SwitchyardError } from "../../core/errors.ts";
import { disconnect, exceedsUtf8, type HubPort } from "../disconnect.ts";

/** Options of {@linkcode acceptWebSocket}. */
export interface WebSocketTransportOptions {
  /** The hub the connection is handed to. */
  hub: HubPort;
  /** The client's IP address, for per-IP limits and logs. */
  remoteAddress: string;
  /** Largest message accepted, in UTF-8 bytes (`limits.max_message_bytes`). */
  maxMessageBytes: number;
  /**
   * Refuse the connection with this error as soon as it is open: the client
   * gets the `disconnect` frame and the close code (e.g. 3503 for
   * `ERR_FORBIDDEN_ORIGIN`) instead of a failed handshake it cannot explain.
   */
  refuse?: SwitchyardError;
  /** Called once when the socket has closed (after the closing handshake, or on an error). */
  onClosed?: () => void;
}

/**
 * Upgrade `req` to a WebSocket and hand the connection to the hub once it is
 * open. Throws a `TypeError` when `req` is not a WebSocket upgrade request.
 *
 * @example
 * ```ts ignore
 * import { acceptWebSocket } from "./mod.ts";
 * declare const hub: import("../../core/mod.ts").Hub;
 * Deno.serve((req, info) =>
 *   acceptWebSocket(req, {
 *     hub,
 *     remoteAddress: info.remoteAddr.hostname,
 *     maxMessageBytes: 65_536,
 *   }).response
 * );
 * ```
 */
export function acceptWebSocket(
  req: Request,
  options: WebSocketTransportOptions,
): { response: Response; transport: WebSocketTransport } {
  const { socket, response } = Deno.upgradeWebSocket(req);
  return { response, transport: new WebSocketTransport(socket, options) };
}

/**
 * A {@linkcode Connection} over a server-side WebSocket.
 *
 * Text messages go to the hub as frames. A binary message ends the connection
 * with `ERR_BAD_FRAME` (3500) and a message over `maxMessageBytes` with
 * `ERR_MESSAGE_TOO_LARGE` (3501); neither reaches the hub. Deno has no limit
 * on incoming message size, so an oversized message is refused only once it
 * has been received in full.
 */
export class WebSocketTransport implements Connection {
  /** Always `"websocket"`. */
  readonly transport = "websocket";
  readonly remoteAddress: string;
  readonly #socket: WebSocket;
  readonly #options: WebSocketTransportOptions;
  #link: Link | undefined;
  #refusal: SwitchyardError | undefined;
  #closing = false;
  #linkGone = false;
  #socketGone = false;

  /** Wrap a socket from `Deno.upgradeWebSocket` (in its connecting state). */
  constructor(socket: WebSocket, options: WebSocketTransportOptions) {
    this.#socket = socket;
    this.#options = options;
    this.remoteAddress = options.remoteAddress;
    this.#refusal = options.refuse;
    socket.onopen = () => this.#opened();
    socket.onmessage = (event) => this.#message(event.data);
    socket.onclose = () => this.#socketClosed();
    socket.onerror = () => this.#socketClosed();
  }

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  send(frame: string): void {
    if (this.#closing || this.#socket.readyState !== WebSocket.OPEN) return;
    try {
      this.#socket.send(frame);
    } catch {
      // The socket died between the check and the send: its close event follows.
    }
  }

  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#socket.close(code, reason);
    } catch {
      this.#socket.close();
    }
    // No frame is taken after close(): the connection is gone for the hub now, not when the
    // client completes the closing handshake (which it may never do).
    this.#ended();
  }

  /** End the connection with `err` (a `disconnect` frame, then its close code), without the hub. */
  terminate(err: SwitchyardError): void {
    if (this.#closing) return;
    if (this.#socket.readyState === WebSocket.CONNECTING) {
      this.#refusal = err;
      return;
    }
    disconnect(this, err);
  }

  #opened(): void {
    const refusal = this.#refusal;
    if (refusal) {
      this.#options.hub.stats.error(refusal.code);
      disconnect(this, refusal);
      return;
    }
    this.#link = this.#options.hub.open(this);
  }

  #message(data: unknown): void {
    if (this.#closing || !this.#link) return;
    const max = this.#options.maxMessageBytes;
    if (typeof data !== "string") {
      return this.#fail(
        new SwitchyardError("ERR_BAD_FRAME", "Malformed frame: binary messages are not accepted"),
      );
    }
    if (exceedsUtf8(data, max)) {
      return this.#fail(
        new SwitchyardError(
          "ERR_MESSAGE_TOO_LARGE",
          `Frame of ${
            new TextEncoder().encode(data).length
          } bytes is over limits.max_message_bytes (${max})`,
        ),
      );
    }
    this.#link.receive(data);
  }

  #fail(err: SwitchyardError): void {
    this.#options.hub.stats.error(err.code);
    disconnect(this, err);
  }

  #ended(): void {
    if (this.#linkGone) return;
    this.#linkGone = true;
    this.#link?.closed();
  }

  #socketClosed(): void {
    this.#ended();
    if (this.#socketGone) return;
    this.#socketGone = true;
    this.#options.onClosed?.();
  }
}
