/**
 * The SSE + POST transport's HTTP side: `GET /switchyard/sse` opens an event
 * stream, `POST /switchyard/sse/{conn}` delivers frames to it
 * (docs/protocol.md).
 *
 * @module
 */

import { SwitchyardError } from "../../core/errors.ts";
import type { HubPort } from "../disconnect.ts";
import { SseTransport } from "./sse_transport.ts";
import { concatBytes } from "../../core/bytes.ts";

/** A keep-alive comment goes out when nothing else was sent for this long (ms). */
export const SSE_KEEP_ALIVE_MS = 15_000;

/** A POST body may hold at most this many times `maxMessageBytes`. */
export const SSE_MAX_BODY_FACTOR = 16;

/** Response headers of an event stream. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-store",
  "x-accel-buffering": "no",
};

/** Options of {@linkcode SseEndpoint}. */
export interface SseEndpointOptions {
  /** The hub each new stream's connection is handed to. */
  hub: HubPort;
  /** Largest frame (one POST body line) accepted, in bytes (`limits.max_message_bytes`). */
  maxMessageBytes: number;
  /** Idle time before a keep-alive comment (ms). Default {@linkcode SSE_KEEP_ALIVE_MS}. */
  keepAliveMs?: number;
}

/** Per-stream options of {@linkcode SseEndpoint.open}. */
export interface SseOpenOptions {
  /** The client's IP address, for per-IP limits and logs. */
  remoteAddress: string;
  /**
   * Settles when the response is over, delivered or not (`Deno.ServeHandlerInfo.completed`): a
   * second way, besides the stream's cancellation, to notice a client that left.
   */
  completed?: Promise<void>;
  /** Called once when this connection is gone. */
  onClosed?: (transport: SseTransport) => void;
}

/**
 * Keeps the open SSE connections by id and serves their GET and POST requests.
 * Origin checks and CORS headers are the HTTP server's job.
 *
 * @example
 * ```ts ignore
 * import { SseEndpoint } from "./mod.ts";
 * declare const hub: import("../../core/mod.ts").Hub;
 * const sse = new SseEndpoint({ hub, maxMessageBytes: 65_536 });
 * Deno.serve((req, info) => {
 *   const path = new URL(req.url).pathname;
 *   if (req.method === "GET" && path === "/switchyard/sse") {
 *     return sse.open({ remoteAddress: info.remoteAddr.hostname, completed: info.completed }).response;
 *   }
 *   return sse.post(req, path.slice("/switchyard/sse/".length));
 * });
 * ```
 */
export class SseEndpoint {
  readonly #options: SseEndpointOptions;
  readonly #keepAliveMs: number;
  readonly #conns = new Map<string, SseTransport>();
  #ticker: ReturnType<typeof setInterval> | undefined;

  /** An endpoint without connections; the keep-alive timer runs while it has some. */
  constructor(options: SseEndpointOptions) {
    this.#options = options;
    this.#keepAliveMs = options.keepAliveMs ?? SSE_KEEP_ALIVE_MS;
  }

  /** Open connections. */
  get size(): number {
    return this.#conns.size;
  }

  /** Open a new event stream and hand its connection to the hub. */
  open(options: SseOpenOptions): { response: Response; transport: SseTransport } {
    const transport = new SseTransport({
      remoteAddress: options.remoteAddress,
      onClosed: (t) => {
        this.#conns.delete(t.id);
        if (this.#conns.size === 0) this.#stopTicker();
        options.onClosed?.(t);
      },
    });
    this.#conns.set(transport.id, transport);
    this.#startTicker();
    options.completed?.then(
      () => transport.close(1000, "response ended"),
      () => transport.close(1000, "client left"),
    );
    transport.attach(this.#options.hub.open(transport));
    return { response: new Response(transport.stream, { headers: SSE_HEADERS }), transport };
  }

  /**
   * Deliver the frames of a POST body (one per line, in order) to connection
   * `connId`. Answers 204, 404 for an unknown or closed connection, 413 for a
   * line over `maxMessageBytes` or a body over 16 times that, 400 for a body
   * that is not UTF-8. 413 and 400 also end the connection (`disconnect` with
   * `ERR_MESSAGE_TOO_LARGE` or `ERR_BAD_FRAME`): the client broke the framing.
   */
  async post(req: Request, connId: string): Promise<Response> {
    const transport = this.#conns.get(connId);
    if (!transport || !transport.open) {
      await req.body?.cancel();
      return jsonError(
        404,
        "ERR_NOT_FOUND",
        "Unknown or closed SSE connection: open /switchyard/sse again",
      );
    }
    const max = this.#options.maxMessageBytes;
    const maxBody = max * SSE_MAX_BODY_FACTOR;
    const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    let line: Uint8Array[] = [];
    let lineBytes = 0;
    let total = 0;
    const deliver = (bytes: Uint8Array): SwitchyardError | undefined => {
      if (bytes.length === 0) return;
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        return new SwitchyardError("ERR_BAD_FRAME", "Malformed frame: not valid UTF-8");
      }
      transport.receive(text);
    };
    const tooLarge = (what: string) =>
      new SwitchyardError("ERR_MESSAGE_TOO_LARGE", `${what} (limits.max_message_bytes)`);

    let failure: SwitchyardError | undefined;
    const reader = req.body?.getReader();
    try {
      while (reader && !failure) {
        const { value, done } = await reader.read();
        if (done) break;
        total += value.length;
        if (total > maxBody) {
          failure = tooLarge(`POST body over ${maxBody} bytes`);
          break;
        }
        let start = 0;
        for (let nl = value.indexOf(10); nl >= 0; nl = value.indexOf(10, start)) {
          const piece = value.subarray(start, nl);
          start = nl + 1;
          if (lineBytes + piece.length > max) {
            failure = tooLarge(`Frame of ${lineBytes + piece.length} bytes is over ${max}`);
            break;
          }
          failure = deliver(line.length === 0 ? piece : concatBytes([...line, piece]));
          line = [];
          lineBytes = 0;
          if (failure) break;
        }
        if (failure) break;
        const rest = value.subarray(start);
        if (lineBytes + rest.length > max) {
          failure = tooLarge(`Frame of more than ${max} bytes`);
          break;
        }
        if (rest.length > 0) {
          line.push(rest.slice());
          lineBytes += rest.length;
        }
      }
      if (!failure && lineBytes > 0) failure = deliver(concatBytes(line));
    } catch {
      // The client went away mid-body: what was complete was delivered.
      return new Response(null, { status: 204 });
    } finally {
      if (failure) await reader?.cancel().catch(() => {});
      reader?.releaseLock();
    }
    if (!failure) return new Response(null, { status: 204 });
    this.#options.hub.stats.error(failure.code);
    transport.terminate(failure);
    const status = failure.code === "ERR_MESSAGE_TOO_LARGE" ? 413 : 400;
    return jsonError(status, failure.code, failure.message);
  }

  /** Stop the keep-alive timer. Open connections are the hub's to close. */
  close(): void {
    this.#stopTicker();
  }

  #startTicker(): void {
    if (this.#ticker !== undefined) return;
    const every = Math.max(10, Math.floor(this.#keepAliveMs / 3));
    this.#ticker = setInterval(() => {
      for (const t of this.#conns.values()) t.keepAlive(this.#keepAliveMs);
    }, every);
  }

  #stopTicker(): void {
    clearInterval(this.#ticker);
    this.#ticker = undefined;
  }
}

function jsonError(status: number, error: string, message: string): Response {
  return Response.json({ error, message }, { status });
}
