/**
 * Who may reach a session: a JWT whose `sessions` claim names it. The token comes as
 * `?token=` (a page load then swaps it for a cookie scoped to the session's path, or to the
 * session's own host under subdomain routing), as the `sy_session_{id}` cookie, or as
 * `Authorization: Bearer`. Every request is checked against
 * the claim, so one session's token never opens another, and the credentials are removed
 * before the request goes upstream.
 *
 * @module
 */

import type { Authenticator } from "../../auth/mod.ts";
import { SwitchyardError } from "../../core/errors.ts";
import { jsonError } from "../../http/headers.ts";
import { escapeHtml, isBrowserNavigation } from "./_session_pages.ts";
import { isWebSocketUpgrade } from "./_proxy_headers.ts";

/** Cookies named `sy_session_{id}` hold a session's token. */
export const SESSION_COOKIE_PREFIX = "sy_session_";

/** The query parameter of a token link: `/session/a/?token=…`. */
export const TOKEN_PARAM = "token";

/** How {@linkcode authorizeSession} checks tokens. */
export interface SessionAccessOptions {
  /** Verifies tokens; `connect(token).claims` must hold `sessions` (or `session`). */
  authenticator: Pick<Authenticator, "connect">;
  /** Let every request in without a token (`gateway.anonymous`, for local use). */
  anonymous: boolean;
}

/** The request, as the gateway sees it. */
export interface SessionTarget {
  /** Session id, from the path or the host. */
  id: string;
  url: URL;
  /** The client reached us over TLS: the cookie gets `Secure`. */
  secure: boolean;
  /**
   * The session has a host of its own (`{id}.dev.example.com`, subdomain routing): its cookie
   * is host-only (no `Domain`) for `Path=/`. Otherwise the cookie is for `Path=/session/{id}/`.
   */
  ownHost?: boolean;
}

/**
 * What {@linkcode authorizeSession} decided: proxy (to `path`, with `editHeaders` applied to
 * the upstream headers) or answer with `response` (401, 403, 503, or the 303 of a token link).
 */
export type SessionAccess =
  | { ok: true; path: string; editHeaders: (headers: Headers) => void }
  | { ok: false; response: Response };

/**
 * Whether `claims` grant session `id`: `sessions` is an array of ids and `prefix*` patterns
 * (`["a", "team-*"]`; `"*"` alone grants every session), or `session` is one id. Anything
 * else grants nothing.
 *
 * @example
 * ```ts
 * import { sessionGranted } from "./access.ts";
 * sessionGranted({ sessions: ["a", "team-*"] }, "team-7"); // true
 * sessionGranted({ sessions: ["a"] }, "b"); // false
 * sessionGranted({ session: "b" }, "b"); // true
 * ```
 */
export function sessionGranted(
  claims: Readonly<Record<string, unknown>> | undefined,
  id: string,
): boolean {
  if (claims === undefined) return false;
  const { sessions, session } = claims;
  if (typeof session === "string" && session === id) return true;
  if (!Array.isArray(sessions)) return false;
  return sessions.some((pattern) =>
    typeof pattern === "string" &&
    (pattern === id || (pattern.endsWith("*") && id.startsWith(pattern.slice(0, -1))))
  );
}

/**
 * Whether `value` has a JWT's shape (three base64url parts). Only such `?token=` values are
 * the gateway's: Vite's HMR socket, for one, carries a short `?token=` of its own that must
 * reach Vite untouched.
 */
export function isJwtShaped(value: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
}

/**
 * `url`'s path and query without the `token` parameters that hold a JWT. Everything else is
 * kept byte for byte (a dev server's `?import` must not become `?import=`, Vite's own
 * `?token=` stays).
 *
 * @example
 * ```ts
 * import { pathWithoutToken } from "./access.ts";
 * pathWithoutToken(new URL("http://h/session/a/x.js?import&token=h.p.s&t=1")); // "/session/a/x.js?import&t=1"
 * pathWithoutToken(new URL("http://h/session/a/?token=M7CgoXo4qadX")); // unchanged
 * ```
 */
export function pathWithoutToken(url: URL): string {
  if (!url.searchParams.getAll(TOKEN_PARAM).some(isJwtShaped)) return url.pathname + url.search;
  const kept = url.search.slice(1).split("&").filter((part) => {
    const eq = part.indexOf("=");
    const [name, value] = eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
    return decodePart(name) !== TOKEN_PARAM || !isJwtShaped(decodePart(value));
  });
  return url.pathname + (kept.length > 0 ? `?${kept.join("&")}` : "");
}

function decodePart(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text; // not decodable: not ours
  }
}

/**
 * Removes the gateway's credentials from upstream request headers: every `sy_session_*`
 * cookie (other cookies stay) and an `Authorization: Bearer` header.
 */
export function stripCredentials(headers: Headers): void {
  if (/^bearer\s/i.test(headers.get("authorization") ?? "")) headers.delete("authorization");
  const cookie = headers.get("cookie");
  if (cookie === null) return;
  const kept = cookie.split(";").map((c) => c.trim()).filter((c) =>
    c !== "" && !c.startsWith(SESSION_COOKIE_PREFIX)
  );
  if (kept.length > 0) headers.set("cookie", kept.join("; "));
  else headers.delete("cookie");
}

/** The value of cookie `name` in a Cookie header, if present (the first, if sent twice). */
export function readCookie(header: string | null, name: string): string | undefined {
  return readCookies(header, name)[0];
}

/**
 * Every value of cookie `name` in a Cookie header, in order. A browser sends two cookies of
 * one name when a sibling host set one for the parent domain next to the host's own.
 */
export function readCookies(header: string | null, name: string): string[] {
  const values: string[] = [];
  for (const part of (header ?? "").split(/[;,]/)) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) values.push(part.slice(eq + 1).trim());
  }
  return values;
}

/**
 * Decides whether `req` may reach session `target.id`. Tokens are tried in the order
 * `?token=` (when it holds a JWT, see {@linkcode isJwtShaped}), `Authorization: Bearer`, cookie; the first that grants the session wins. A
 * page load (GET, not a WebSocket) that carried a granting `?token=` gets a 303 to the same
 * URL without it, setting `sy_session_{id}` for `Path=/session/{id}/` only, or, when
 * `target.ownHost`, for `Path=/` on the session's host only (no `Domain`, so sibling
 * sessions' hosts never receive it). No token or no
 * valid one: 401 (`ERR_UNAUTHORIZED`, `ERR_TOKEN_EXPIRED`); a valid token without this
 * session: 403 `ERR_FORBIDDEN`; a key source that cannot be reached: 503. Browsers get an
 * HTML page saying how to get in, other clients JSON `{error, message}`.
 *
 * @example
 * ```ts ignore
 * import { authorizeSession } from "./access.ts";
 * declare const authenticator: import("../../auth/mod.ts").Authenticator;
 * const req = new Request("http://localhost/session/a/?token=eyJ…");
 * const access = await authorizeSession(req, { id: "a", url: new URL(req.url), secure: false }, {
 *   authenticator,
 *   anonymous: false,
 * });
 * if (!access.ok) console.log(access.response.status); // 303, 401 or 403
 * ```
 */
export async function authorizeSession(
  req: Request,
  target: SessionTarget,
  options: SessionAccessOptions,
): Promise<SessionAccess> {
  const { id, url } = target;
  const path = pathWithoutToken(url);
  const granted: SessionAccess = { ok: true, path, editHeaders: stripCredentials };
  if (options.anonymous) return granted;
  const bearer = /^bearer\s+(\S+)\s*$/i.exec(req.headers.get("authorization") ?? "")?.[1];
  type From = "query" | "header" | "cookie";
  const candidates: { token: string; from: From }[] = [
    ...url.searchParams.getAll(TOKEN_PARAM).filter(isJwtShaped).map((token) => ({
      token,
      from: "query" as const,
    })),
    { token: bearer ?? "", from: "header" as From },
    ...readCookies(req.headers.get("cookie"), SESSION_COOKIE_PREFIX + id).map((token) => ({
      token,
      from: "cookie" as const,
    })),
  ].filter((c) => c.token !== "");
  const browser = isBrowserNavigation(req);
  if (candidates.length === 0) {
    return denied(browser, id, 401, "ERR_UNAUTHORIZED", `Session "${id}" needs a token`);
  }
  let forbidden = false;
  let failure: SwitchyardError | undefined;
  for (const { token, from } of candidates) {
    let claims: Readonly<Record<string, unknown>> | undefined;
    try {
      claims = (await options.authenticator.connect(token)).claims;
    } catch (error) {
      if (!(error instanceof SwitchyardError)) throw error;
      failure ??= error;
      continue;
    }
    if (!sessionGranted(claims, id)) {
      forbidden = true;
      continue;
    }
    if (from === "query" && req.method === "GET" && !isWebSocketUpgrade(req)) {
      return { ok: false, response: tokenRedirect(target, token, path) };
    }
    return granted;
  }
  if (forbidden) {
    return denied(
      browser,
      id,
      403,
      "ERR_FORBIDDEN",
      `This token does not grant session "${id}": its sessions claim must list "${id}" or a ` +
        "matching prefix*",
    );
  }
  if (failure?.code === "ERR_UNAVAILABLE") {
    return denied(browser, id, 503, failure.code, `Cannot check the token now: ${failure.message}`);
  }
  const expired = failure?.code === "ERR_TOKEN_EXPIRED";
  return denied(
    browser,
    id,
    401,
    expired ? "ERR_TOKEN_EXPIRED" : "ERR_UNAUTHORIZED",
    expired
      ? `The token for session "${id}" has expired`
      : `The token for session "${id}" is not valid: ${failure?.message ?? "refused"}`,
  );
}

function tokenRedirect(target: SessionTarget, token: string, path: string): Response {
  const scope = target.ownHost ? "/" : `/session/${target.id}/`;
  const cookie = `${SESSION_COOKIE_PREFIX}${target.id}=${token}; Path=${scope}; ` +
    `HttpOnly; SameSite=Lax${target.secure ? "; Secure" : ""}`;
  return new Response(null, {
    status: 303,
    headers: {
      location: path,
      "set-cookie": cookie,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
    },
  });
}

const HOW_TO = "Open the session link you were given (it ends in ?token=…), or send the token " +
  "in an Authorization: Bearer header. The token's sessions claim must name this session.";

function denied(
  browser: boolean,
  id: string,
  status: number,
  code: string,
  message: string,
): SessionAccess {
  const full = status === 503 ? message : `${message}. ${HOW_TO}`;
  if (!browser) return { ok: false, response: jsonError(status, code, full) };
  const title = status === 403 ? `No access to session ${id}` : `Session ${id} needs a token`;
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}` +
    `</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}.</p>` +
    `<p>${escapeHtml(HOW_TO)}</p></body></html>`;
  return {
    ok: false,
    response: new Response(body, {
      status,
      headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
    }),
  };
}
