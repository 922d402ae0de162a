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
 * @module
 */

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
  const signals = signal ? [req.signal, signal] : [req.signal];
  if (signals.some((s) => s.aborted)) return clientClosed();
  const abort = new AbortController();
  // Until the headers arrive either signal cancels the exchange. After that a client that
  // leaves cancels the body stream, so only the caller's signal is still watched: Deno.serve's
  // legacy `req.signal` also fires once a response is delivered.
  const onAbort = () => abort.abort("client");
  const detach = () => signals.forEach((s) => s.removeEventListener("abort", onAbort));
  signals.forEach((s) => s.addEventListener("abort", onAbort, { once: true }));
  const timer = setTimeout(() => abort.abort("timeout"), timeoutMs);
  const headers = new Headers(exchange.headers);
  headers.set("accept-encoding", "identity");
  let res: Response;
  try {
    const hasBody = req.body !== null && req.method !== "GET" && req.method !== "HEAD";
    res = await fetch(`http://${where}${exchange.path}`, {
      method: req.method,
      headers,
      body: hasBody ? req.body : undefined,
      redirect: "manual",
      signal: abort.signal,
      client: client(),
      ...(hasBody ? { duplex: "half" } : {}),
    } as RequestInit);
  } catch (err) {
    if (abort.signal.reason === "client") return clientClosed();
    if (abort.signal.reason === "timeout") {
      return jsonError(
        504,
        "ERR_UPSTREAM_TIMEOUT",
        `The upstream at ${where} did not answer within ${timeoutMs} ms`,
      );
    }
    return upstreamError(err, where);
  } finally {
    clearTimeout(timer);
    detach();
  }
  if (signal) signal.addEventListener("abort", () => abort.abort("client"), { once: true });
  const status = res.status;
  if (status < 200 || status > 599) {
    await res.body?.cancel();
    return jsonError(
      502,
      "ERR_UPSTREAM_FAILED",
      `The upstream at ${where} answered with status ${status}: not proxied`,
    );
  }
  const init = { status, statusText: res.statusText, headers: stripHopByHop(res.headers) };
  if (req.method === "HEAD" || NULL_BODY_STATUS.has(status)) {
    await res.body?.cancel();
    return new Response(null, init);
  }
  return new Response(res.body, init);
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
