/**
 * SSE + POST transport: frames arrive as `message` events of an event stream
 * (after a first `open` event whose data is `{"conn":"…"}`) and leave as POSTs
 * to `{url}/{conn}`. Uses `EventSource` where present, else reads the stream
 * with `fetch`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { ClientTransport, TransportOpenOptions } from "../transport.ts";
import { SwitchyardClientError } from "../client_error.ts";
import { type ErrorCode, ERRORS } from "../../src/core/errors.ts";
import { EventStreamParser } from "./event_stream_parser.ts";
import { PostBatcher } from "./post_batcher.ts";

/**
 * Options of {@linkcode openSse} beyond the common ones.
 *
 * @example
 * ```ts
 * import { openSse, type SseOpenOptions } from "./sse_transport.ts";
 * const options: SseOpenOptions = {
 *   endpoint: { url: "http://localhost:4480/switchyard/sse" },
 *   signal: AbortSignal.timeout(3000),
 *   onFrame: console.log,
 *   onClose: console.log,
 *   useFetch: true,
 * };
 * await openSse(options);
 * ```
 */
export interface SseOpenOptions extends TransportOpenOptions {
  /** Force the `fetch` stream reader even where `EventSource` exists (tests). */
  useFetch?: boolean;
  /** Injected for tests; defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
}

interface Downstream {
  close(): void;
}

interface DownstreamHandlers {
  event(type: string, data: string): void;
  /** The stream failed or ended; `code` is a close code when the HTTP status tells one. */
  error(code: number, message: string): void;
}

/**
 * Open the SSE stream and wait for its `open` event; resolves with a transport
 * that posts frames in order.
 *
 * @example
 * ```ts
 * import { openSse } from "./sse_transport.ts";
 * const t = await openSse({
 *   endpoint: { url: "http://localhost:4480/switchyard/sse" },
 *   signal: AbortSignal.timeout(3000),
 *   onFrame: (frame) => console.log(frame),
 *   onClose: (code, reason) => console.log(code, reason),
 * });
 * t.send('{"type":"connect","id":1}');
 * ```
 */
export function openSse(options: SseOpenOptions): Promise<ClientTransport> {
  const { endpoint, signal } = options;
  if (signal.aborted) return Promise.reject(signal.reason);
  const fetchFn = options.fetch ?? globalThis.fetch?.bind(globalThis);
  return new Promise((resolve, reject) => {
    let transport: ClientTransport | null = null;
    let poster: PostBatcher | null = null;
    let done = false;
    const onAbort = () => {
      if (transport || done) return;
      done = true;
      down.close();
      reject(signal.reason);
    };
    const fail = (code: number, message: string) => {
      if (done) return;
      done = true;
      down.close();
      poster?.stop();
      signal.removeEventListener("abort", onAbort);
      if (transport) options.onClose(code, message);
      else {
        reject(
          new SwitchyardClientError(
            "ERR_TRANSPORT_FAILED",
            `SSE stream ${endpoint.url} failed to open: ${message}`,
            code,
          ),
        );
      }
    };
    const handlers: DownstreamHandlers = {
      event(type, data) {
        if (done) return;
        if (type === "message") {
          if (transport) options.onFrame(data);
          return;
        }
        if (type !== "open" || transport) return;
        let conn: unknown;
        try {
          conn = JSON.parse(data).conn;
        } catch { /* checked below */ }
        if (typeof conn !== "string" || conn === "") {
          return fail(1006, `the "open" event has no conn id: ${data.slice(0, 80)}`);
        }
        poster = new PostBatcher({
          url: `${endpoint.url.replace(/\/$/, "")}/${encodeURIComponent(conn)}`,
          fetch: fetchFn,
          maxBodyBytes: endpoint.maxMessageBytes === undefined
            ? undefined
            : endpoint.maxMessageBytes * 16,
          onError: (status, message) =>
            fail(closeCodeForStatus(status, message), postError(status, message)),
        });
        const p = poster;
        transport = {
          kind: "sse",
          send(frame) {
            if (!done) p.send(frame);
          },
          close() {
            if (done) return;
            done = true;
            // Let queued frames (a final "close") go out before the stream ends.
            p.drain().finally(() => {
              p.stop();
              down.close();
            });
          },
        };
        signal.removeEventListener("abort", onAbort);
        resolve(transport);
      },
      error: fail,
    };
    const down = options.useFetch || typeof EventSource === "undefined"
      ? fetchEventStream(endpoint.url, fetchFn, handlers)
      : eventSourceStream(endpoint.url, handlers);
    signal.addEventListener("abort", onAbort);
  });
}

function eventSourceStream(url: string, h: DownstreamHandlers): Downstream {
  const es = new EventSource(url);
  es.addEventListener("open", (ev) => {
    // The built-in "open" (connection established) is a plain Event; the server's is a MessageEvent.
    if (ev instanceof MessageEvent) h.event("open", String(ev.data));
  });
  es.onmessage = (ev) => h.event("message", String(ev.data));
  // EventSource would reconnect by itself; the client resumes its session instead.
  es.onerror = () => {
    es.close();
    h.error(1006, "SSE stream failed or ended");
  };
  return { close: () => es.close() };
}

function fetchEventStream(url: string, fetchFn: typeof fetch, h: DownstreamHandlers): Downstream {
  const abort = new AbortController();
  (async () => {
    const res = await fetchFn(url, {
      headers: { accept: "text/event-stream" },
      signal: abort.signal,
      cache: "no-store",
    });
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => "");
      return h.error(
        closeCodeForStatus(res.status, text),
        `HTTP ${res.status} ${text.slice(0, 120)}`,
      );
    }
    const parser = new EventStreamParser();
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const ev of parser.push(value)) h.event(ev.event, ev.data);
    }
    h.error(1006, "SSE stream ended");
  })().catch((err) => {
    if (!abort.signal.aborted) h.error(1006, String((err as Error)?.message ?? err));
  });
  return { close: () => abort.abort() };
}

/** Map an HTTP refusal to the close code the protocol would use (a JSON body may name the error). */
function closeCodeForStatus(status: number, body = ""): number {
  try {
    const code = JSON.parse(body).error as ErrorCode;
    const close = (ERRORS[code] as { closeCode?: number } | undefined)?.closeCode;
    if (close !== undefined) return close;
  } catch { /* not JSON */ }
  if (status === 403) return ERRORS.ERR_FORBIDDEN_ORIGIN.closeCode;
  if (status === 413) return ERRORS.ERR_MESSAGE_TOO_LARGE.closeCode;
  return 1006;
}

function postError(status: number, message: string): string {
  if (status === 0) return `POST failed: ${message}`;
  return `POST answered ${status}${message ? `: ${message.slice(0, 120)}` : ""}`;
}
