/**
 * Headers every response carries, and CORS headers for allowed origins.
 *
 * @module
 */

/**
 * Set on every response unless the handler set the header itself. No HSTS:
 * it would pin `localhost` to HTTPS in the browser and break the plain-HTTP
 * dev port.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "SAMEORIGIN",
  "referrer-policy": "strict-origin-when-cross-origin",
};

/**
 * `res` with {@linkcode SECURITY_HEADERS} and `extra` added where not already
 * set. A response with immutable headers is copied; a 101 (WebSocket upgrade)
 * is returned as is.
 *
 * @example
 * ```ts
 * import { withHeaders } from "./mod.ts";
 * const res = withHeaders(new Response("hi"));
 * res.headers.get("x-content-type-options"); // "nosniff"
 * ```
 */
export function withHeaders(res: Response, extra: Record<string, string> = {}): Response {
  if (res.status === 101) return res;
  const all = { ...SECURITY_HEADERS, ...extra };
  try {
    for (const [k, v] of Object.entries(all)) if (!res.headers.has(k)) res.headers.set(k, v);
    return res;
  } catch {
    const headers = new Headers(res.headers);
    for (const [k, v] of Object.entries(all)) if (!headers.has(k)) headers.set(k, v);
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }
}

/** CORS response headers that let `origin` read the response. */
export function corsHeaders(origin: string): Record<string, string> {
  return { "access-control-allow-origin": origin, "vary": "Origin" };
}

/** The answer to a CORS preflight from an allowed `origin`. */
export function preflightResponse(origin: string, req: Request): Response {
  const headers: Record<string, string> = {
    ...corsHeaders(origin),
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-max-age": "600",
  };
  const asked = req.headers.get("access-control-request-headers");
  if (asked) headers["access-control-allow-headers"] = asked;
  return new Response(null, { status: 204, headers });
}

/** A JSON error response: `{"error": code, "message": message}`. */
export function jsonError(status: number, error: string, message: string): Response {
  return Response.json({ error, message }, { status, headers: { "cache-control": "no-store" } });
}
