/**
 * Header rewriting for the reverse proxy: hop-by-hop headers out, Host and
 * X-Forwarded-* in.
 *
 * @module
 */

/** Hop-by-hop headers (RFC 9110 §7.6.1), plus the de-facto `proxy-connection`. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Headers the WebSocket client writes itself during its own handshake. */
const WEBSOCKET_HANDSHAKE = new Set([
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
  "sec-websocket-accept",
]);

/** What the proxy adds on the way upstream. */
export interface ForwardingInfo {
  host: string;
  forwardedFor?: string;
  forwardedProto?: string;
}

/**
 * `headers` without hop-by-hop headers, including the ones the `Connection`
 * header names.
 */
export function stripHopByHop(headers: Headers): Headers {
  const named = new Set(listTokens(headers.get("connection")));
  const out = new Headers();
  // Iteration yields each Set-Cookie on its own, so cookies survive unmerged.
  for (const [name, value] of headers) {
    if (!HOP_BY_HOP.has(name) && !named.has(name)) out.append(name, value);
  }
  return out;
}

/**
 * The request headers to send upstream: end-to-end headers kept (cookies
 * included), Host rewritten, X-Forwarded-For appended to, X-Forwarded-Proto
 * and X-Forwarded-Host set from what the client asked for.
 */
export function upstreamRequestHeaders(req: Request, info: ForwardingInfo): Headers {
  const headers = stripHopByHop(req.headers);
  const url = new URL(req.url);
  headers.set("x-forwarded-host", req.headers.get("host") ?? url.host);
  headers.set("x-forwarded-proto", info.forwardedProto ?? url.protocol.slice(0, -1));
  if (info.forwardedFor) {
    const prior = req.headers.get("x-forwarded-for");
    headers.set("x-forwarded-for", prior ? `${prior}, ${info.forwardedFor}` : info.forwardedFor);
  }
  headers.set("host", info.host);
  return headers;
}

/** The upstream handshake headers for a WebSocket: as for HTTP, minus the handshake's own. */
export function upstreamWebSocketHeaders(req: Request, info: ForwardingInfo): Headers {
  const headers = upstreamRequestHeaders(req, info);
  for (const name of WEBSOCKET_HANDSHAKE) headers.delete(name);
  return headers;
}

/** Whether `req` asks to become a WebSocket (RFC 6455 §4.1). */
export function isWebSocketUpgrade(req: Request): boolean {
  return req.method === "GET" && listTokens(req.headers.get("upgrade")).includes("websocket");
}

/** The comma-separated tokens of a header, trimmed and lower-cased. */
export function listTokens(value: string | null): string[] {
  if (!value) return [];
  return value.split(",").map((t) => t.trim().toLowerCase()).filter((t) => t !== "");
}

/** The subprotocols a client offers, in its order of preference, case kept. */
export function offeredProtocols(req: Request): string[] {
  const value = req.headers.get("sec-websocket-protocol");
  if (!value) return [];
  return value.split(",").map((t) => t.trim()).filter((t) => t !== "");
}
