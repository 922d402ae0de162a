/**
 * One Server-Sent Events connection: frames go out as `message` events on a
 * `text/event-stream` response; frames come in through POSTs that
 * {@linkcode SseEndpoint} routes here by connection id.
 *
 * @module
 */

import type { Connection, Link } from "../../core/connection.ts";
import type { SwitchyardError } from "../../core/errors.ts";
import { disconnect } from "../disconnect.ts";

const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(": keep-alive\n\n");

/** Options of {@linkcode SseTransport}. */
export interface SseTransportOptions {
  /** The client's IP address, for per-IP limits and logs. */
  remoteAddress: string;
  /** Called once when the connection is gone, whoever ended it. */
  onClosed?: (transport: SseTransport) => void;
  /** Clock in ms, for keep-alives. Default `Date.now`. */
  now?: () => number;
}

/**
 * A {@linkcode Connection} over an event stream.
 *
 * The stream starts with an `open` event carrying the connection id; each
 * frame is then one event with an increasing `id:`. `bufferedAmount` is the
 * bytes enqueued that the HTTP layer has not pulled yet, which grows when the
 * client stops reading.
 *
 * @example
 * ```ts
 * import { SseTransport } from "./mod.ts";
 * const sse = new SseTransport({ remoteAddress: "127.0.0.1" });
 * const response = new Response(sse.stream, { headers: { "content-type": "text/event-stream" } });
 * sse.send('{"type":"ping"}');
 * ```
 */
export class SseTransport implements Connection {
  /** Always `"sse"`. */
  readonly transport = "sse";
  readonly remoteAddress: string;
  /** Connection id: 128 random bits in hex, the capability to POST for this connection. */
  readonly id: string;
  /** The response body. */
  readonly stream: ReadableStream<Uint8Array>;
  readonly #options: SseTransportOptions;
  readonly #now: () => number;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #link: Link | undefined;
  #nextEventId = 1;
  #lastWrite: number;
  #closing = false;
  #gone = false;

  /** A new connection whose stream starts with the `open` event. */
  constructor(options: SseTransportOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.remoteAddress = options.remoteAddress;
    this.id = randomHex(16);
    this.#lastWrite = this.#now();
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          this.#write(`event: open\ndata: ${JSON.stringify({ conn: this.id })}\n\n`);
        },
        cancel: () => this.#ended(),
      },
      new ByteLengthQueuingStrategy({ highWaterMark: 0 }),
    );
  }

  /** Whether frames are still taken: false once closed or cancelled. */
  get open(): boolean {
    return !this.#closing && !this.#gone;
  }

  get bufferedAmount(): number {
    if (this.#gone) return 0;
    return Math.max(0, -(this.#controller.desiredSize ?? 0));
  }

  /** Hand incoming frames to `link` from now on. */
  attach(link: Link): void {
    this.#link = link;
    if (this.#gone) link.closed();
  }

  /** One frame arrived in a POST body. */
  receive(frame: string): void {
    if (this.open) this.#link?.receive(frame);
  }

  send(frame: string): void {
    if (!this.open) return;
    this.#write(`id: ${this.#nextEventId++}\ndata: ${frame}\n\n`);
  }

  /** Send a keep-alive comment if nothing was written for `idleMs`. */
  keepAlive(idleMs: number): void {
    if (this.open && this.#now() - this.#lastWrite >= idleMs) this.#enqueue(KEEP_ALIVE);
  }

  /** End the stream after what is already queued (the hub has sent `disconnect` before). */
  close(_code: number, _reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#controller.close();
    } catch {
      // Already cancelled by the client.
    }
    this.#ended();
  }

  /** End the connection with `err` (a `disconnect` frame, then the end of the stream), without the hub. */
  terminate(err: SwitchyardError): void {
    if (this.open) disconnect(this, err);
  }

  #write(text: string): void {
    this.#enqueue(encoder.encode(text));
  }

  #enqueue(bytes: Uint8Array): void {
    try {
      this.#controller.enqueue(bytes);
      this.#lastWrite = this.#now();
    } catch {
      this.#ended();
    }
  }

  #ended(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#link?.closed();
    this.#options.onClosed?.(this);
  }
}

function randomHex(bytes: number): string {
  return Array.from(
    crypto.getRandomValues(new Uint8Array(bytes)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}
