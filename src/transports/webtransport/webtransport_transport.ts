/**
 * The WebTransport transport: the client opens one bidirectional stream and
 * both sides send length-prefixed frames on it (docs/protocol.md).
 *
 * @module
 */

import type { Connection, Link } from "../../core/connection.ts";
import { SwitchyardError } from "../../core/errors.ts";
import { disconnect, type HubPort } from "../disconnect.ts";
import { encodeLengthPrefixed, FrameDecoder } from "./frame_decoder.ts";
import { concatBytes } from "../../core/bytes.ts";

/** A session that opens no bidirectional stream within this many ms is closed. */
export const WT_STREAM_TIMEOUT_MS = 10_000;

/** After the last frame before a close, wait at most this long for the client to close first. */
export const WT_CLOSE_LINGER_MS = 200;

/** How long a close waits for queued frames to be handed to QUIC. */
const DRAIN_TIMEOUT_MS = 1_000;

/** A session as `Deno.upgradeWebTransport` returns it. */
export type ServerWebTransport = WebTransport & { url: string };

/** Options of {@linkcode WebTransportTransport.serve}. */
export interface WebTransportTransportOptions {
  /** The hub the connection is handed to once the client's stream is open. */
  hub: HubPort;
  /** The client's IP address (`QuicConn.remoteAddr.hostname`, read after `accept()`). */
  remoteAddress: string;
  /** Largest frame accepted, in bytes (`limits.max_message_bytes`). */
  maxMessageBytes: number;
  /** Close a session without a bidirectional stream after this many ms. Default 10 000. */
  streamTimeoutMs?: number;
  /** Wait this long for the client to close after a `disconnect` frame. Default 200 ms. */
  closeLingerMs?: number;
  /** Called once when the session is over. */
  onClosed?: (transport: WebTransportTransport) => void;
}

/**
 * A {@linkcode Connection} over one WebTransport session.
 *
 * The hub sees the connection once the client has opened its bidirectional
 * stream; later streams are ignored. Writes are serialized through one writer
 * and batched while a write is pending. Closing the WebTransport session drops
 * bytes QUIC has not sent yet, so `close()` first lets queued frames drain,
 * then waits up to `closeLingerMs` for the client to close (it does on a
 * `disconnect` frame) before closing the session with the close code.
 *
 * A `?token=` in the session URL is exposed as {@linkcode urlToken} and put
 * into the first frame when that is a `connect` frame without a token.
 *
 * @example
 * ```ts ignore
 * import { WebTransportTransport } from "./mod.ts";
 * declare const hub: import("../../core/mod.ts").Hub;
 * declare const listener: Deno.QuicListener;
 * const conn = await listener.accept();
 * const remoteAddress = conn.remoteAddr.hostname;
 * const wt = await Deno.upgradeWebTransport(conn);
 * const session = WebTransportTransport.serve(wt, { hub, remoteAddress, maxMessageBytes: 65_536 });
 * await session.done;
 * ```
 */
export class WebTransportTransport implements Connection {
  /** Always `"webtransport"`. */
  readonly transport = "webtransport";
  readonly remoteAddress: string;
  /** The `token` query parameter of the session URL, if any. */
  readonly urlToken: string | undefined;
  /** Resolves once the session is over. */
  readonly done: Promise<void>;
  readonly #wt: ServerWebTransport;
  readonly #options: WebTransportTransportOptions;
  readonly #decoder: FrameDecoder;
  readonly #sessionClosed: Promise<void>;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #link: Link | undefined;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #inFlight = 0;
  #pumping: Promise<void> | undefined;
  #firstFrame = true;
  #closing = false;
  #linkGone = false;

  private constructor(wt: ServerWebTransport, options: WebTransportTransportOptions) {
    this.#wt = wt;
    this.#options = options;
    this.remoteAddress = options.remoteAddress;
    this.#decoder = new FrameDecoder({ maxFrameBytes: options.maxMessageBytes });
    let token: string | null = null;
    try {
      token = new URL(wt.url).searchParams.get("token");
    } catch {
      // A session URL that does not parse has no token.
    }
    this.urlToken = token ?? undefined;
    this.#sessionClosed = wt.closed.then(() => {}, () => {});
    this.done = this.#run();
  }

  /** Serve `wt` until it closes; see {@linkcode done}. */
  static serve(
    wt: ServerWebTransport,
    options: WebTransportTransportOptions,
  ): WebTransportTransport {
    return new WebTransportTransport(wt, options);
  }

  get bufferedAmount(): number {
    return this.#queued + this.#inFlight;
  }

  send(frame: string): void {
    if (this.#closing || !this.#writer) return;
    const bytes = encodeLengthPrefixed(frame);
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    this.#pumping ??= this.#pump();
  }

  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#goneForHub();
    this.#closeSession(code, reason);
  }

  /**
   * End the session with `err` without the hub: a `disconnect` frame when the
   * stream is open, then the close code.
   */
  terminate(err: SwitchyardError): void {
    if (this.#writer) disconnect(this, err);
    else this.close(disconnectCode(err), err.message);
  }

  async #run(): Promise<void> {
    const { hub, streamTimeoutMs = WT_STREAM_TIMEOUT_MS } = this.#options;
    const streams = this.#wt.incomingBidirectionalStreams.getReader();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), streamTimeoutMs);
    });
    let first: WebTransportBidirectionalStream | "timeout" | undefined;
    try {
      first = await Promise.race([
        streams.read().then((r) => r.value, () => undefined),
        timeout,
        this.#sessionClosed.then(() => undefined),
      ]);
    } finally {
      clearTimeout(timer);
      streams.releaseLock();
    }
    if (first === "timeout") {
      hub.stats.error("ERR_PING_TIMEOUT");
      this.close(3002, `No bidirectional stream within ${streamTimeoutMs} ms`);
    }
    if (first === undefined || first === "timeout" || this.#closing) {
      this.#closing = true;
      await this.#sessionClosed;
      this.#options.onClosed?.(this);
      return;
    }
    this.#writer = first.writable.getWriter();
    this.#link = hub.open(this);
    void this.#refuseOtherStreams();
    await this.#read(first.readable);
    this.#goneForHub();
    await this.#sessionClosed;
    this.#options.onClosed?.(this);
  }

  /** A session has one stream: any other one the client opens is cancelled, not left to pile up. */
  async #refuseOtherStreams(): Promise<void> {
    const refuse = async <T>(streams: ReadableStream<T>, drop: (s: T) => void) => {
      const reader = streams.getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          drop(value);
        }
      } catch {
        // The session ended.
      } finally {
        reader.releaseLock();
      }
    };
    await Promise.all([
      refuse(this.#wt.incomingBidirectionalStreams, (s) => {
        s.readable.cancel().catch(() => {});
        s.writable.abort().catch(() => {});
      }),
      refuse(this.#wt.incomingUnidirectionalStreams, (s) => {
        s.cancel().catch(() => {});
      }),
    ]);
  }

  async #read(readable: ReadableStream<Uint8Array>): Promise<void> {
    const reader = readable.getReader();
    const onFrame = (text: string) => this.#frame(text);
    try {
      while (!this.#closing) {
        const { value, done } = await reader.read();
        if (done) {
          this.close(1000, "stream closed by the client");
          break;
        }
        this.#decoder.push(value, onFrame);
      }
    } catch (err) {
      if (err instanceof SwitchyardError && !this.#closing) {
        this.#options.hub.stats.error(err.code);
        disconnect(this, err);
      }
      // Otherwise the session or the stream died: #sessionClosed settles.
    } finally {
      reader.releaseLock();
    }
  }

  #frame(text: string): void {
    if (this.#closing) return;
    if (this.#firstFrame) {
      this.#firstFrame = false;
      if (this.urlToken !== undefined) text = withToken(text, this.urlToken);
    }
    this.#link?.receive(text);
  }

  async #pump(): Promise<void> {
    const writer = this.#writer!;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.length === 1 ? this.#queue[0] : concatBytes(this.#queue);
        this.#queue = [];
        this.#queued = 0;
        this.#inFlight = batch.length;
        await writer.write(batch);
        this.#inFlight = 0;
      }
    } catch {
      // The stream cannot be written any more: the session is of no use, end it.
      this.#queue = [];
      this.#queued = 0;
      this.#inFlight = 0;
      this.#goneForHub();
      this.#closing = true;
      try {
        this.#wt.close({ closeCode: 3002, reason: "write failed" });
      } catch {
        // Already closed.
      }
    } finally {
      this.#pumping = undefined;
    }
  }

  async #closeSession(code: number, reason: string): Promise<void> {
    const linger = this.#options.closeLingerMs ?? WT_CLOSE_LINGER_MS;
    if (this.#pumping) await withTimeout(this.#pumping, DRAIN_TIMEOUT_MS);
    // Let QUIC take the last bytes before the session closes, and let the client close first.
    await withTimeout(this.#sessionClosed, this.#writer ? linger : 0);
    try {
      this.#wt.close({ closeCode: code, reason });
    } catch {
      // Already closed.
    }
  }

  #goneForHub(): void {
    if (this.#linkGone) return;
    this.#linkGone = true;
    this.#link?.closed();
  }
}

/** `text` with `token` set when it is a `connect` frame without one; else `text` unchanged. */
function withToken(text: string, token: string): string {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return text;
  }
  if (
    typeof frame !== "object" || frame === null || Array.isArray(frame) ||
    (frame as { type?: unknown }).type !== "connect" ||
    (frame as { token?: unknown }).token !== undefined
  ) {
    return text;
  }
  return JSON.stringify({ ...frame, token });
}

function disconnectCode(err: SwitchyardError): number {
  return err.closeCode ?? 3006;
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(() => {}, () => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
