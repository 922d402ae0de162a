/**
 * The WebSocket half of the reverse proxy: open the upstream socket first,
 * then upgrade the client with the subprotocol the upstream chose, then pipe
 * messages and closes both ways.
 *
 * Backpressure: the WebSocket API cannot pause a sender, so the proxy bounds
 * what it holds instead. Messages from the upstream that arrive before the
 * client's socket is open are queued up to {@linkcode MAX_PENDING_BYTES};
 * after that, a peer whose `bufferedAmount` passes
 * {@linkcode MAX_BUFFERED_BYTES} is not reading, and both sides are closed
 * (1013 "try again later" to the client) rather than buffering without end.
 *
 * @module
 */

import { jsonError } from "../../http/headers.ts";
import { clientClosed } from "./_proxy_http.ts";

/** Upstream messages held while the client's socket opens. */
export const MAX_PENDING_BYTES = 1 << 20;
/** Bytes queued towards one peer before the proxy gives up on it. */
export const MAX_BUFFERED_BYTES = 8 << 20;

/** One upgrade to forward. */
export interface WebSocketExchange {
  req: Request;
  /** Path and query to ask the upstream for. */
  path: string;
  headers: Headers;
  protocols: string[];
  hostname: string;
  port: number;
  timeoutMs: number;
  /** The caller's signal; `req.signal` (the client went away) is watched as well. */
  signal?: AbortSignal;
  /** Called with the client's socket once the upgrade is accepted. */
  onWebSocket?: (socket: WebSocket) => void;
}

type Message = string | ArrayBuffer;

let sharedClient: Deno.HttpClient | undefined;

/** Closes the client that lets the upstream handshake carry a rewritten Host. */
export function closeWebSocketClient(): void {
  sharedClient?.close();
  sharedClient = undefined;
}

/**
 * Connects upstream and, once it is open, upgrades `exchange.req`. Never
 * rejects: when the upstream cannot be opened the client gets a JSON error
 * and no upgrade.
 */
export async function forwardWebSocket(exchange: WebSocketExchange): Promise<Response> {
  const { req, hostname, port, timeoutMs, signal } = exchange;
  const where = `${hostname}:${port}`;
  sharedClient ??= Deno.createHttpClient({ allowHost: true });
  const upstream = new WebSocket(`ws://${where}${exchange.path}`, {
    protocols: exchange.protocols,
    headers: exchange.headers,
    client: sharedClient,
  });
  upstream.binaryType = "arraybuffer";
  const pending = new PendingMessages();
  upstream.onmessage = (e: MessageEvent<Message>) => pending.push(e.data);

  const signals = signal ? [req.signal, signal] : [req.signal];
  const opened = await waitForOpen(upstream, timeoutMs, AbortSignal.any(signals));
  if (opened !== "open") {
    upstream.onmessage = null;
    if (upstream.readyState !== WebSocket.CLOSED) upstream.close();
    return openFailure(opened, where, timeoutMs);
  }

  let upgrade: Deno.WebSocketUpgrade;
  try {
    upgrade = Deno.upgradeWebSocket(req, { protocol: upstream.protocol || undefined });
  } catch (err) {
    upstream.close(1000, "Client upgrade failed");
    return jsonError(400, "ERR_BAD_UPGRADE", `Cannot upgrade to a WebSocket: ${String(err)}`);
  }
  pipe(upgrade.socket, upstream, pending);
  if (signal) stopOnAbort(signal, upgrade.socket, upstream);
  exchange.onWebSocket?.(upgrade.socket);
  return upgrade.response;
}

type OpenOutcome = "open" | "timeout" | "aborted" | { detail: string };

function waitForOpen(ws: WebSocket, timeoutMs: number, signal: AbortSignal): Promise<OpenOutcome> {
  return new Promise((resolve) => {
    let detail = "connection closed during the handshake";
    const done = (outcome: OpenOutcome) => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      ws.onopen = ws.onerror = ws.onclose = null;
      resolve(outcome);
    };
    const onAbort = () => done("aborted");
    const timer = setTimeout(() => done("timeout"), timeoutMs);
    if (signal.aborted) return done("aborted");
    signal.addEventListener("abort", onAbort, { once: true });
    ws.onopen = () => done("open");
    ws.onerror = (e) => detail = e instanceof ErrorEvent ? e.message : detail;
    ws.onclose = () => done({ detail });
  });
}

function openFailure(outcome: Exclude<OpenOutcome, "open">, where: string, ms: number): Response {
  if (outcome === "timeout") {
    return jsonError(
      504,
      "ERR_UPSTREAM_TIMEOUT",
      `The upstream at ${where} did not accept the WebSocket within ${ms} ms`,
    );
  }
  if (outcome === "aborted") return clientClosed();
  // Deno reports a refused TCP connection as "tcp connect error" and a
  // rejected handshake as "Invalid status code: 403"; only the latter means
  // something is listening.
  if (/status code/i.test(outcome.detail)) {
    return jsonError(
      502,
      "ERR_UPSTREAM_REFUSED",
      `The upstream at ${where} refused the WebSocket: ${outcome.detail}`,
    );
  }
  return jsonError(
    502,
    "ERR_UPSTREAM_DOWN",
    `Nothing is listening at ${where}: is the dev server running? (${outcome.detail})`,
  );
}

/** Upstream messages waiting for the client's socket to open, bounded. */
class PendingMessages {
  readonly messages: Message[] = [];
  #bytes = 0;
  overflow = false;

  push(data: Message): void {
    this.#bytes += size(data);
    if (this.#bytes > MAX_PENDING_BYTES) this.overflow = true;
    else this.messages.push(data);
  }
}

function pipe(client: WebSocket, upstream: WebSocket, pending: PendingMessages): void {
  client.binaryType = "arraybuffer";
  let upstreamClose: CloseEvent | undefined;
  const giveUp = () => {
    closeClient(client, 1013, "Proxy buffer limit reached: a peer is not reading");
    closeUpstream(upstream, 1000, "Proxy buffer limit reached: a peer is not reading");
  };
  const send = (to: WebSocket, data: Message) => {
    if (to.readyState !== WebSocket.OPEN) return;
    to.send(data);
    if (to.bufferedAmount > MAX_BUFFERED_BYTES) giveUp();
  };

  client.onopen = () => {
    if (pending.overflow) return giveUp();
    for (const data of pending.messages.splice(0)) send(client, data);
    if (upstreamClose) forwardUpstreamClose(client, upstreamClose);
  };
  upstream.onmessage = (e: MessageEvent<Message>) => {
    if (client.readyState === WebSocket.OPEN) send(client, e.data);
    else if (client.readyState === WebSocket.CONNECTING) pending.push(e.data);
  };
  client.onmessage = (e: MessageEvent<Message>) => send(upstream, e.data);
  upstream.onclose = (e) => {
    if (client.readyState === WebSocket.OPEN) forwardUpstreamClose(client, e);
    else if (client.readyState === WebSocket.CONNECTING) upstreamClose = e;
  };
  client.onclose = (e) => {
    // The WebSocket client API only sends 1000 and 3000–4999; other codes
    // (1001 "going away" when a tab closes) reach the upstream as 1000 with
    // the reason kept, and a close without a code stays without one.
    if (e.code === 1005 || abnormal(e.code)) closeUpstream(upstream);
    else closeUpstream(upstream, sendableByClient(e.code) ? e.code : 1000, e.reason);
  };
  upstream.onerror = client.onerror = () => {};
}

function stopOnAbort(signal: AbortSignal, client: WebSocket, upstream: WebSocket): void {
  const stop = () => {
    closeClient(client, 1001, "Proxy stopped");
    closeUpstream(upstream, 1000, "Proxy stopped");
  };
  signal.addEventListener("abort", stop, { once: true });
  client.addEventListener("close", () => signal.removeEventListener("abort", stop));
}

function forwardUpstreamClose(client: WebSocket, e: CloseEvent): void {
  if (e.code === 1005) return closeClient(client);
  if (abnormal(e.code)) {
    // The upstream vanished without a close frame (a dev server restarting
    // drops its sockets). A clean close would hide that, and Vite's client
    // polls for the server and reloads only after an unclean one. Deno's
    // server socket cannot drop the TCP connection, so it sends the reserved
    // code 1006 on purpose: conforming clients then fail the connection and
    // report 1006, unclean, as if they had been connected directly.
    return closeClient(client, 1006, "");
  }
  closeClient(client, e.code, e.reason);
}

function closeClient(ws: WebSocket, code?: number, reason?: string): void {
  if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) return;
  try {
    ws.close(code, reason);
  } catch {
    try {
      ws.close(1011, "Upstream closed abnormally");
    } catch {
      // Never opened: there is nothing to close.
    }
  }
}

function closeUpstream(ws: WebSocket, code?: number, reason?: string): void {
  if (ws.readyState === WebSocket.CLOSING || ws.readyState === WebSocket.CLOSED) return;
  ws.close(code, reason);
}

/**
 * Codes that never travel in a close frame: 1006 (and the 0 Deno reports
 * for a dropped connection), 1015, 1004 and anything outside 1000–4999.
 */
function abnormal(code: number): boolean {
  return code === 1004 || code === 1006 || code === 1015 || code < 1000 || code > 4999;
}

function sendableByClient(code: number): boolean {
  return code === 1000 || (code >= 3000 && code <= 4999);
}

/** Bytes for binary, UTF-16 code units for text: close enough for a bound. */
function size(data: Message): number {
  return typeof data === "string" ? data.length : data.byteLength;
}
