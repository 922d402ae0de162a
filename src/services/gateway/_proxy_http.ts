/**
 * The HTTP half of the reverse proxy, on `fetch` with a client that may set `Host`.
 *
 * Deno's `fetch` decodes gzip and brotli bodies when the request accepts them
 * (its own default, or a client's `Accept-Encoding: gzip`), yet keeps the
 * upstream's `Content-Encoding`. With `Accept-Encoding: identity` it hands
 * over the bytes as sent (measured: an upstream that compresses anyway arrives
 * as its gzip bytes, header intact), so the upstream is always asked for
 * identity and whatever it sends passes through byte for byte; `Deno.serve`
 * may compress for the client. A first version on `node:http` did the same but
 * cost ~1 ms per request against ~0.15 ms for `fetch` (2.3 KB, loopback,
 * 2026-11-22): most of the gateway's share of an HMR update.
 *
 * Per request, what costs (serial 2.3 KB GETs, 2026-11-22): headers go as
 * name/value lists, never as Headers objects handed to `fetch` (see
 * `headerList()`); `req.signal` costs ~0.05 ms (Deno.serve arms its
 * cancellation when it is first read) but is the only way to see a client
 * leave; the timeout is one timer, and every listener is removed once the
 * headers are in.
 *
 * @module
 */

import { jsonError } from "../../http/headers.ts";
import { endToEndHeaders, type HeaderList } from "./_proxy_headers.ts";

/** One exchange to forward. */
export interface HttpExchange {
  req: Request;
  /** Path and query to ask the upstream for. */
  path: string;
  /** The rewritten request headers; Accept-Encoding is replaced in place with `identity`. */
  headers: HeaderList;
  hostname: string;
  port: number;
  timeoutMs: number;
  /** The caller's signal; `req.signal` (the client went away) is watched as well. */
  signal?: AbortSignal;
}

const NULL_BODY_STATUS = new Set([204, 205, 304]);
const CLIENT_GONE = "client";
const TIMED_OUT = "timeout";

let sharedClient: Deno.HttpClient | undefined;

function client(): Deno.HttpClient {
  sharedClient ??= Deno.createHttpClient({ allowHost: true });
  return sharedClient;
}

/** Closes the pooled upstream connections; the next request opens new ones. */
export function closeHttpAgent(): void {
  sharedClient?.close();
  sharedClient = undefined;
}

/**
 * Sends `exchange` upstream and resolves with the upstream's response as soon
 * as its headers arrive; the body streams through as the upstream writes it.
 * Never rejects: failures become JSON error responses.
 */
export async function forwardHttp(exchange: HttpExchange): Promise<Response> {
  const { req, hostname, port, timeoutMs, signal } = exchange;
  const where = `${hostname}:${port}`;
  const clientSignal = req.signal;
  if (clientSignal.aborted || signal?.aborted) return clientClosed();
  // Until the headers arrive the client leaving, the caller's signal or the timeout cancel the
  // exchange; every listener goes again right after, or each request would leave one on the
  // caller's long-lived signal (adding to a signal with 20k listeners took ~0.27 ms). deno.json
  // opts out of Deno.serve's legacy `req.signal` (which also fired once a response was delivered,
  // and printed a warning into the server's JSON log): it aborts only when the client leaves.
  const early = new AbortController();
  const onClientGone = () => early.abort(CLIENT_GONE);
  clientSignal.addEventListener("abort", onClientGone, { once: true });
  signal?.addEventListener("abort", onClientGone, { once: true });
  const timer = setTimeout(() => early.abort(TIMED_OUT), timeoutMs);
  const headers = withIdentityEncoding(exchange.headers);
  const hasBody = req.method !== "GET" && req.method !== "HEAD" && req.body !== null;
  const init = {
    method: req.method,
    headers,
    redirect: "manual",
    signal: early.signal,
    client: client(),
  } as RequestInit & { client: Deno.HttpClient; duplex?: "half" };
  if (hasBody) {
    init.body = req.body;
    init.duplex = "half";
  }
  let res: Response;
  try {
    res = await fetch(`http://${where}${exchange.path}`, init);
  } catch (err) {
    if (early.signal.reason === CLIENT_GONE) return clientClosed();
    if (early.signal.reason === TIMED_OUT) {
      return jsonError(
        504,
        "ERR_UPSTREAM_TIMEOUT",
        `The upstream at ${where} did not answer within ${timeoutMs} ms`,
      );
    }
    return upstreamError(err, where);
  } finally {
    clearTimeout(timer);
    clientSignal.removeEventListener("abort", onClientGone);
    signal?.removeEventListener("abort", onClientGone);
  }
  const status = res.status;
  if (status < 200 || status > 599) {
    await res.body?.cancel();
    return jsonError(
      502,
      "ERR_UPSTREAM_FAILED",
      `The upstream at ${where} answered with status ${status}: not proxied`,
    );
  }
  const responseInit = {
    status,
    statusText: res.statusText,
    headers: endToEndHeaders(res.headers),
  };
  if (req.method === "HEAD" || NULL_BODY_STATUS.has(status) || res.body === null) {
    await res.body?.cancel();
    return new Response(null, responseInit);
  }
  return new Response(watchBody(res, signal), responseInit);
}

/**
 * The response body to hand on. Deno's `fetch` does not end a body already streaming when its
 * signal fires (2.9.6), so an open-ended body (no Content-Length: SSE, chunked) goes through a
 * pipe the caller's signal can cut. A body of known length is handed on as is: Deno.serve then
 * copies it without a JavaScript step per chunk, and it ends by itself.
 */
function watchBody(res: Response, signal: AbortSignal | undefined): ReadableStream<Uint8Array> {
  const body = res.body!;
  if (!signal || res.headers.has("content-length")) return body;
  return body.pipeThrough(new TransformStream(), { signal });
}

function withIdentityEncoding(headers: HeaderList): HeaderList {
  const i = headers.findIndex(([name]) => name === "accept-encoding");
  if (i === -1) headers.push(["accept-encoding", "identity"]);
  else headers[i] = ["accept-encoding", "identity"];
  return headers;
}

/** The answer when the client (or the caller's signal) gave up first; nobody may read it. */
export function clientClosed(): Response {
  return jsonError(
    499,
    "ERR_CLIENT_CLOSED",
    "The client went away before the upstream answered: request cancelled",
  );
}

function upstreamError(err: unknown, where: string): Response {
  // The reason is in the cause: "…tcp connect error: Connection refused (os error 111)".
  const text = [err, (err as Error)?.cause].filter(Boolean).map(String).join(": ");
  if (/refused|os error 111|not found|ENOTFOUND|dns error/i.test(text)) {
    return jsonError(
      502,
      "ERR_UPSTREAM_DOWN",
      `Nothing is listening at ${where}: is the dev server running?`,
    );
  }
  return jsonError(502, "ERR_UPSTREAM_FAILED", `The upstream at ${where} failed: ${text}`);
}
