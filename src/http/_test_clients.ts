/**
 * Private to the tests of src/http and src/transports: one test client per
 * transport, all with the same interface.
 *
 * @module
 */

import type { TransportKind } from "../core/mod.ts";
import { encodeLengthPrefixed, FrameDecoder } from "../transports/webtransport/mod.ts";
import { deadline } from "../../test/_deadline.ts";
export { deadline };

/** Where a test client connects. */
export interface ClientTarget {
  /** Trusts the test CA; for fetch and WebSocket. */
  httpClient: Deno.HttpClient;
  /** `https://127.0.0.1:port` or `http://…`. */
  base: string;
  /** WebTransport: UDP port and accepted certificate hash. */
  quicPort?: number;
  certificateHash?: Uint8Array<ArrayBuffer>;
}

/** What a test client observes of its connection's end. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** A decoded server frame. */
export type Frame = Record<string, unknown> & { type: string };

/** Options of {@linkcode TestEnv.connect}. */
export interface ClientOptions {
  /** Base URL to use instead of `env.base` (e.g. the plain-HTTP listener). */
  base?: string;
  /** `Origin` header (WebSocket and SSE). */
  origin?: string;
  /** WebTransport URL query, e.g. `?token=abc`. */
  query?: string;
  /** WebTransport: do not open the bidirectional stream. */
  noStream?: boolean;
}

/** One client connection, whatever the transport. */
export interface TestClient {
  readonly kind: TransportKind;
  /** Send one frame (an object is JSON-encoded). SSE: POSTs it and returns the response. */
  send(frame: string | object): Promise<Response | void>;
  /** The next frame that is not a ping, within `ms`. */
  next(ms?: number): Promise<Frame>;
  /** The next frame of `type`, skipping others, within `ms`. */
  expect(type: string, ms?: number): Promise<Frame>;
  /** How the connection ended (SSE: the last `disconnect` frame's code, or 1006). */
  readonly closed: Promise<CloseInfo>;
  /** `connect` and wait for `connected`. */
  handshake(): Promise<Frame>;
  close(): Promise<void>;
}

class FrameQueue {
  #frames: Frame[] = [];
  #waiters: (() => void)[] = [];
  #ended = false;

  push(frame: Frame): void {
    this.#frames.push(frame);
    for (const w of this.#waiters.splice(0)) w();
  }

  end(): void {
    this.#ended = true;
    for (const w of this.#waiters.splice(0)) w();
  }

  async next(ms: number): Promise<Frame> {
    const until = Date.now() + ms;
    for (;;) {
      const f = this.#frames.shift();
      if (f) {
        if (f.type === "ping") continue;
        return f;
      }
      if (this.#ended) throw new Error("Connection ended while waiting for a frame");
      const left = until - Date.now();
      if (left <= 0) throw new Error(`No frame within ${ms} ms`);
      await deadline(new Promise<void>((r) => this.#waiters.push(r)), left, "next frame");
    }
  }
}

abstract class BaseClient implements TestClient {
  abstract readonly kind: TransportKind;
  abstract readonly closed: Promise<CloseInfo>;
  protected queue = new FrameQueue();
  #nextId = 1;
  abstract send(frame: string | object): Promise<Response | void>;
  abstract close(): Promise<void>;

  next(ms = 3000): Promise<Frame> {
    return this.queue.next(ms);
  }

  async expect(type: string, ms = 3000): Promise<Frame> {
    const until = Date.now() + ms;
    for (;;) {
      const f = await this.queue.next(Math.max(1, until - Date.now()));
      if (f.type === type) return f;
    }
  }

  async handshake(): Promise<Frame> {
    await this.send({ type: "connect", id: this.#nextId++ });
    return await this.expect("connected");
  }

  protected received(text: string): void {
    this.queue.push(JSON.parse(text));
  }
}

class WsClient extends BaseClient {
  readonly kind = "websocket";
  readonly closed: Promise<CloseInfo>;
  readonly ws: WebSocket;

  constructor(ws: WebSocket) {
    super();
    this.ws = ws;
    ws.onmessage = (e) => this.received(e.data);
    this.closed = new Promise((resolve) => {
      ws.onclose = (e) => {
        this.queue.end();
        resolve({ code: e.code, reason: e.reason });
      };
    });
  }

  send(frame: string | object | Uint8Array): Promise<void> {
    this.ws.send(
      typeof frame === "string" || frame instanceof Uint8Array ? frame : JSON.stringify(frame),
    );
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.ws.readyState < WebSocket.CLOSING) this.ws.close();
    await this.closed;
  }
}

class SseClient extends BaseClient {
  readonly kind = "sse";
  readonly closed: Promise<CloseInfo>;
  /** Event ids in arrival order, and comment lines seen. */
  readonly ids: number[] = [];
  readonly comments: string[] = [];
  conn = "";
  #abort = new AbortController();
  #lastDisconnect: Frame | undefined;

  constructor(readonly url: string, readonly target: ClientTarget, readonly origin?: string) {
    super();
    let opened!: (conn: string) => void;
    this.ready = new Promise((r) => opened = r);
    this.closed = this.#read(opened);
  }

  readonly ready: Promise<string>;
  response!: Response;

  async #read(opened: (conn: string) => void): Promise<CloseInfo> {
    try {
      const headers: Record<string, string> = this.origin ? { origin: this.origin } : {};
      const res = await fetch(this.url, {
        client: this.target.httpClient,
        signal: this.#abort.signal,
        headers,
      });
      this.response = res;
      if (res.status !== 200) {
        opened("");
        await res.body?.cancel();
        return { code: res.status, reason: "http status" };
      }
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const event: Record<string, string> = {};
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) this.comments.push(line);
            else {
              const colon = line.indexOf(":");
              event[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, "");
            }
          }
          if (event.event === "open") {
            this.conn = JSON.parse(event.data).conn;
            opened(this.conn);
          } else if (event.data !== undefined) {
            this.ids.push(Number(event.id));
            const frame = JSON.parse(event.data);
            if (frame.type === "disconnect") this.#lastDisconnect = frame;
            this.queue.push(frame);
          }
        }
      }
    } catch {
      // Aborted by close().
    } finally {
      opened("");
      this.queue.end();
    }
    const d = this.#lastDisconnect;
    return d ? { code: d.code as number, reason: d.reason as string } : { code: 1006, reason: "" };
  }

  /** POST `body` as is to this connection (or to `conn`). */
  post(body: BodyInit, conn = this.conn, origin = this.origin): Promise<Response> {
    const headers: Record<string, string> = { "content-type": "text/plain" };
    if (origin) headers.origin = origin;
    return fetch(`${this.url}/${conn}`, {
      method: "POST",
      body,
      headers,
      client: this.target.httpClient,
    });
  }

  async send(frame: string | object): Promise<Response> {
    const res = await this.post(typeof frame === "string" ? frame : JSON.stringify(frame));
    await res.body?.cancel();
    return res;
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.closed;
  }
}

class WtClient extends BaseClient {
  readonly kind = "webtransport";
  readonly closed: Promise<CloseInfo>;
  writer: WritableStreamDefaultWriter<Uint8Array> | undefined;

  constructor(readonly wt: WebTransport) {
    super();
    this.closed = wt.closed.then(
      (i) => ({ code: i.closeCode ?? 0, reason: i.reason ?? "" }),
      () => ({ code: 1006, reason: "" }),
    ).finally(() => this.queue.end());
  }

  async open(): Promise<void> {
    const stream = await this.wt.createBidirectionalStream();
    this.writer = stream.writable.getWriter();
    this.#read(stream.readable);
  }

  async #read(readable: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 24 });
    const reader = readable.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        decoder.push(value, (text) => this.received(text));
      }
    } catch {
      // Session closed.
    }
  }

  /** Write raw bytes on the stream. */
  async write(bytes: Uint8Array): Promise<void> {
    await this.writer!.write(bytes);
  }

  send(frame: string | object): Promise<void> {
    return this.write(
      encodeLengthPrefixed(typeof frame === "string" ? frame : JSON.stringify(frame)),
    );
  }

  async close(): Promise<void> {
    try {
      this.wt.close();
    } catch {
      // Already closed.
    }
    await this.closed;
  }
}

/** Open a test client of `kind` and wait until it can send. */
export async function connectClient(
  kind: TransportKind,
  target: ClientTarget,
  o: ClientOptions = {},
): Promise<TestClient> {
  const base = o.base ?? target.base;
  if (kind === "websocket") {
    const headers: Record<string, string> = o.origin ? { origin: o.origin } : {};
    const ws = new WebSocket(base.replace(/^http/, "ws") + "/switchyard/ws", {
      client: target.httpClient,
      headers,
    });
    const client = new WsClient(ws);
    await deadline(
      new Promise<void>((resolve, reject) => {
        ws.addEventListener("open", () => resolve(), { once: true });
        ws.addEventListener("error", () => reject(new Error("WebSocket failed")), { once: true });
      }),
      3000,
      "WebSocket open",
    );
    return client;
  }
  if (kind === "sse") {
    const client = new SseClient(base + "/switchyard/sse", target, o.origin);
    await deadline(client.ready, 3000, "SSE open event");
    return client;
  }
  const wt = new WebTransport(
    `https://127.0.0.1:${target.quicPort}/switchyard/wt${o.query ?? ""}`,
    {
      serverCertificateHashes: [{ algorithm: "sha-256", value: target.certificateHash! }],
    },
  );
  await deadline(wt.ready, 3000, "WebTransport ready");
  const client = new WtClient(wt);
  if (!o.noStream) await client.open();
  return client;
}

export { SseClient, WsClient, WtClient };
