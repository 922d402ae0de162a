/**
 * The session gateway's reverse proxy: forwards one request, HTTP or
 * WebSocket, to a dev server on loopback, keeping its path and query exactly
 * (the dev server runs with base `/session/{id}/`, so nothing is stripped).
 *
 * @module
 */

import { closeHttpAgent, forwardHttp } from "./_proxy_http.ts";
import {
  headerList,
  isWebSocketUpgrade,
  offeredProtocols,
  upstreamHeaderList,
  upstreamWebSocketHeaders,
} from "./_proxy_headers.ts";
import { closeWebSocketClient, forwardWebSocket } from "./_proxy_websocket.ts";

/** Where a session's dev server listens. Loopback only: upstreams never bind elsewhere. */
export interface ProxyTarget {
  port: number;
  hostname?: "127.0.0.1";
}

/** How to forward one request. */
export interface ProxyOptions {
  /**
   * Host header the upstream sees; `127.0.0.1:<port>` by default, which dev
   * servers' host checks (Vite's `server.allowedHosts`) accept.
   */
  hostHeader?: string;
  /**
   * Milliseconds to wait for the upstream's response headers, or for its
   * WebSocket to open. A streaming body is never cut. Default 30 000: a dev
   * server's first page can take seconds to compile.
   */
  timeoutMs?: number;
  /**
   * Aborts the upstream exchange: a request still waiting for its headers
   * (499), a body of unknown length still streaming (SSE, chunked: it ends in
   * error and the upstream's is cancelled) or an open WebSocket (closed with
   * 1001). A body with a Content-Length is left to finish. The request's own
   * signal (client gone) aborts it until the response headers arrive.
   */
  signal?: AbortSignal;
  /** The client's address, appended to X-Forwarded-For. */
  forwardedFor?: string;
  /**
   * X-Forwarded-Proto to send; by default the scheme of `req.url`. Pass it
   * when a TLS-terminating load balancer is in front.
   */
  forwardedProto?: string;
  /**
   * X-Forwarded-Host to send; by default the request's Host. Pass the host the client asked a
   * trusted load balancer for, which the request's Host no longer is.
   */
  forwardedHost?: string;
  /**
   * Called with the client's socket when a WebSocket upgrade is accepted,
   * before the 101 is returned. Use `addEventListener` (the proxy owns the
   * `on*` handlers) to watch its messages and its `close`, which fires once
   * however the pair ends. Must not throw.
   */
  onWebSocket?: (socket: WebSocket) => void;
  /**
   * Path and query to ask the upstream for; by default those of `req.url`. The gateway
   * passes the URL without its access token.
   */
  path?: string;
  /**
   * Called with the headers about to go upstream (after the rewriting above) to change
   * them further; the gateway removes its access credentials here.
   */
  editHeaders?: (headers: Headers) => void;
}

/**
 * The `error` of a JSON response from {@linkcode proxyRequest}:
 *
 * - `ERR_UPSTREAM_DOWN` (502): nothing listens on the target port.
 * - `ERR_UPSTREAM_REFUSED` (502): the upstream answered a WebSocket handshake
 *   with an error status.
 * - `ERR_UPSTREAM_FAILED` (502): the connection broke before the headers, or
 *   the answer was unusable.
 * - `ERR_UPSTREAM_TIMEOUT` (504): no response headers, or no WebSocket open,
 *   within `timeoutMs`.
 * - `ERR_CLIENT_CLOSED` (499): the client or the caller's signal gave up
 *   first; the upstream request was aborted.
 * - `ERR_BAD_UPGRADE` (400): the upstream accepted a WebSocket but the
 *   client's request could not be upgraded.
 */
export type ProxyErrorCode =
  | "ERR_UPSTREAM_DOWN"
  | "ERR_UPSTREAM_REFUSED"
  | "ERR_UPSTREAM_FAILED"
  | "ERR_UPSTREAM_TIMEOUT"
  | "ERR_CLIENT_CLOSED"
  | "ERR_BAD_UPGRADE";

/** Default for {@linkcode ProxyOptions.timeoutMs}. */
export const DEFAULT_PROXY_TIMEOUT_MS = 30_000;

/**
 * Forwards `req` to the dev server at `target` and returns its response.
 *
 * - Path and query go upstream unchanged. Host becomes `127.0.0.1:<port>` (or
 *   `hostHeader`); X-Forwarded-For/-Proto/-Host are added; hop-by-hop headers
 *   (Connection and what it names, Keep-Alive, Proxy-*, TE, Trailer,
 *   Transfer-Encoding, Upgrade) are dropped both ways; cookies are kept.
 * - HTTP bodies stream both ways unbuffered, so SSE and chunked responses are
 *   live. Redirects are returned, not followed, with Location untouched.
 *   Compressed bodies pass through byte for byte with their Content-Encoding.
 * - A WebSocket upgrade opens the upstream socket first, with the client's
 *   `Sec-WebSocket-Protocol` list (e.g. `vite-hmr`), then upgrades the client
 *   with the subprotocol the upstream chose and pipes text, binary and close
 *   codes both ways.
 *
 * Never rejects. Failures are JSON `{error, message}` responses whose
 * `error` is a {@linkcode ProxyErrorCode}. A body that breaks after the
 * headers were sent ends the client's response in error, not cleanly.
 *
 * @example
 * ```ts ignore
 * import { proxyRequest } from "./proxy.ts";
 * Deno.serve((req, info) =>
 *   proxyRequest(req, { port: 5173 }, { forwardedFor: info.remoteAddr.hostname })
 * );
 * ```
 */
export function proxyRequest(
  req: Request,
  target: ProxyTarget,
  options: ProxyOptions = {},
): Promise<Response> {
  const hostname = target.hostname ?? "127.0.0.1";
  const forwarding = {
    host: options.hostHeader ?? `${hostname}:${target.port}`,
    forwardedFor: options.forwardedFor,
    forwardedProto: options.forwardedProto,
    forwardedHost: options.forwardedHost,
  };
  const exchange = {
    req,
    path: options.path ?? pathAndQuery(req.url),
    hostname,
    port: target.port,
    timeoutMs: options.timeoutMs ?? DEFAULT_PROXY_TIMEOUT_MS,
    signal: options.signal,
  };
  const edit = options.editHeaders;
  if (isWebSocketUpgrade(req)) {
    const headers = upstreamWebSocketHeaders(req, forwarding);
    edit?.(headers);
    return forwardWebSocket({
      ...exchange,
      headers,
      protocols: offeredProtocols(req),
      onWebSocket: options.onWebSocket,
    });
  }
  let headers = upstreamHeaderList(req, forwarding);
  if (edit) {
    const editable = new Headers(headers);
    edit(editable);
    headers = headerList(editable);
  }
  return forwardHttp({ ...exchange, headers });
}

function pathAndQuery(url: string): string {
  const { pathname, search } = new URL(url);
  return pathname + search;
}

/**
 * Closes the proxy's pooled upstream connections (keep-alive HTTP sockets and
 * the WebSocket handshake client). Call it on shutdown; proxying afterwards
 * opens fresh ones.
 *
 * @example
 * ```ts
 * import { closeProxyConnections } from "./proxy.ts";
 * closeProxyConnections();
 * ```
 */
export function closeProxyConnections(): void {
  closeHttpAgent();
  closeWebSocketClient();
}
