/**
 * Plain change notifications for tools that do not speak the Switchyard
 * protocol: `GET /events` (Server-Sent Events) and `GET /ws` (WebSocket).
 *
 * - SSE: `event: reload` with `data: {"paths":[…]}`, or `event: css` with the
 *   stylesheet paths, one event per change batch.
 * - WebSocket: one JSON text message per batch, `{"type":"reload","paths":[…]}`
 *   or `{"type":"css","paths":[…]}`.
 *
 * @module
 */

/** One batch of changes, as the dev server announces it. */
export interface ChangeNotice {
  type: "reload" | "css";
  paths: string[];
}

const KEEP_ALIVE_MS = 15_000;

/**
 * Fans change notices out to plain SSE and WebSocket listeners.
 *
 * @example
 * ```ts ignore
 * import { ChangeFeed } from "./change_feed.ts";
 * const feed = new ChangeFeed();
 * Deno.serve((req) => new URL(req.url).pathname === "/events" ? feed.sse(req) : feed.websocket(req));
 * feed.announce({ type: "reload", paths: ["index.html"] });
 * ```
 */
export class ChangeFeed {
  #streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #sockets = new Set<WebSocket>();
  #encoder = new TextEncoder();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Listeners connected now (SSE + WebSocket). */
  get size(): number {
    return this.#streams.size + this.#sockets.size;
  }

  /** Answer `GET /events`. */
  sse(_req: Request): Response {
    let self: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        this.#streams.add(controller);
        controller.enqueue(this.#encoder.encode(": switchyard dev\n\n"));
        this.#keepAlive();
      },
      cancel: () => {
        this.#streams.delete(self);
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Answer `GET /ws` (426 without an upgrade). */
  websocket(req: Request): Response {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade", { status: 426 });
    }
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => this.#sockets.add(socket);
    socket.onclose = () => this.#sockets.delete(socket);
    socket.onerror = () => this.#sockets.delete(socket);
    return response;
  }

  /** Send a notice to every listener. */
  announce(notice: ChangeNotice): void {
    const event = this.#encoder.encode(
      `event: ${notice.type}\ndata: ${JSON.stringify({ paths: notice.paths })}\n\n`,
    );
    for (const stream of this.#streams) {
      try {
        stream.enqueue(event);
      } catch {
        this.#streams.delete(stream);
      }
    }
    const text = JSON.stringify(notice);
    for (const socket of this.#sockets) {
      if (socket.readyState === WebSocket.OPEN) socket.send(text);
    }
  }

  /** End every stream and socket. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const stream of this.#streams) {
      try {
        stream.close();
      } catch { /* already closed */ }
    }
    this.#streams.clear();
    for (const socket of this.#sockets) socket.close(1001, "dev server stopped");
    this.#sockets.clear();
  }

  #keepAlive(): void {
    this.#timer ??= setInterval(() => {
      const ping = this.#encoder.encode(": keep-alive\n\n");
      for (const stream of this.#streams) {
        try {
          stream.enqueue(ping);
        } catch {
          this.#streams.delete(stream);
        }
      }
    }, KEEP_ALIVE_MS);
  }
}
