/**
 * The HTTP half of the reverse proxy, on `node:http` rather than `fetch`.
 *
 * Deno's `fetch` always decodes gzip and brotli bodies (its client wraps
 * tower-http's `Decompression`, with no switch to turn it off) yet keeps the
 * upstream's `Content-Encoding` and `Content-Length`, so a proxied compressed
 * body would reach the browser decoded under headers that say otherwise. It
 * also drops a `Host` header unless the client was made with `allowHost`.
 * `node:http` hands over the bytes on the wire and sends the headers it is
 * given, which is what a proxy needs.
 *
 * @module
 */

import { Agent, type IncomingMessage, request as httpRequest } from "node:http";
import { Readable } from "node:stream";
import { jsonError } from "../../http/headers.ts";
import { stripHopByHop } from "./_proxy_headers.ts";

/** One exchange to forward. */
export interface HttpExchange {
  req: Request;
  /** Path and query to ask the upstream for. */
  path: string;
  headers: Headers;
  hostname: string;
  port: number;
  timeoutMs: number;
  /** The caller's signal; `req.signal` (the client went away) is watched as well. */
  signal?: AbortSignal;
}

const NULL_BODY_STATUS = new Set([204, 205, 304]);

let sharedAgent: Agent | undefined;

function agent(): Agent {
  // Keep-alive spares a TCP handshake per request; the upstream is on loopback,
  // so idle sockets are cheap and a short timeout keeps the pool small.
  sharedAgent ??= new Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 64 });
  return sharedAgent;
}

/** Closes the pooled upstream connections; the next request opens new ones. */
export function closeHttpAgent(): void {
  sharedAgent?.destroy();
  sharedAgent = undefined;
}

/**
 * Sends `exchange` upstream and resolves with the upstream's response as soon
 * as its headers arrive; the body streams through as the upstream writes it.
 * Never rejects: failures become JSON error responses.
 */
export function forwardHttp(exchange: HttpExchange): Promise<Response> {
  const { req, hostname, port, timeoutMs, signal } = exchange;
  const where = `${hostname}:${port}`;
  const signals = signal ? [req.signal, signal] : [req.signal];
  if (signals.some((s) => s.aborted)) return Promise.resolve(clientClosed());
  return new Promise((resolve) => {
    let settled = false;
    const settle = (res: Response) => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      resolve(res);
    };
    const headers: Record<string, string> = {};
    for (const [name, value] of exchange.headers) headers[name] = value;
    const upstreamReq = httpRequest({
      host: hostname,
      port,
      method: req.method,
      path: exchange.path,
      headers,
      agent: agent(),
    });

    // Until the headers arrive either signal cancels the exchange. After that
    // a client that leaves cancels the body stream, which destroys the
    // upstream response, so only the caller's signal is still watched:
    // Deno.serve's legacy `req.signal` also fires once a response is
    // delivered, and must not tear down a finished exchange.
    const onAbort = () => {
      detach();
      settle(clientClosed());
      upstreamReq.destroy();
    };
    const detach = () => signals.forEach((s) => s.removeEventListener("abort", onAbort));
    signals.forEach((s) => s.addEventListener("abort", onAbort, { once: true }));

    const timer = setTimeout(() => {
      settle(jsonError(
        504,
        "ERR_UPSTREAM_TIMEOUT",
        `The upstream at ${where} did not answer within ${timeoutMs} ms`,
      ));
      detach();
      upstreamReq.destroy();
    }, timeoutMs);

    upstreamReq.on("error", (err: NodeJS.ErrnoException) => {
      detach();
      settle(upstreamError(err, where));
    });

    upstreamReq.on("response", (res: IncomingMessage) => {
      detach();
      if (signal) {
        const cancel = () => res.destroy();
        signal.addEventListener("abort", cancel, { once: true });
        res.on("close", () => signal.removeEventListener("abort", cancel));
      }
      const status = res.statusCode ?? 502;
      if (status < 200 || status > 599) {
        res.destroy();
        return settle(jsonError(
          502,
          "ERR_UPSTREAM_FAILED",
          `The upstream at ${where} answered with status ${status}: not proxied`,
        ));
      }
      const responseHeaders = new Headers();
      const raw = res.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) responseHeaders.append(raw[i], raw[i + 1]);
      const init = {
        status,
        statusText: res.statusMessage,
        headers: stripHopByHop(responseHeaders),
      };
      if (req.method === "HEAD" || NULL_BODY_STATUS.has(status)) {
        res.resume();
        return settle(new Response(null, init));
      }
      settle(new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, init));
    });

    if (req.body) {
      const body = Readable.fromWeb(req.body as import("node:stream/web").ReadableStream);
      body.on("error", (err) => upstreamReq.destroy(err));
      body.pipe(upstreamReq);
    } else {
      upstreamReq.end();
    }
  });
}

/** The answer when the client (or the caller's signal) gave up first; nobody may read it. */
export function clientClosed(): Response {
  return jsonError(
    499,
    "ERR_CLIENT_CLOSED",
    "The client went away before the upstream answered: request cancelled",
  );
}

function upstreamError(err: NodeJS.ErrnoException, where: string): Response {
  if (err.code === "ECONNREFUSED" || err.code === "ENOTFOUND" || err.code === "EADDRNOTAVAIL") {
    return jsonError(
      502,
      "ERR_UPSTREAM_DOWN",
      `Nothing is listening at ${where}: is the dev server running? (${err.code})`,
    );
  }
  return jsonError(502, "ERR_UPSTREAM_FAILED", `The upstream at ${where} failed: ${err.message}`);
}
