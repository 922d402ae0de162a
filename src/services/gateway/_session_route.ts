/**
 * Where a gateway request goes: the session id from the path (`/session/{id}/…`) or, with
 * subdomain routing, from the host (`{id}.{suffix}`).
 *
 * @module
 */

import { jsonError } from "../../http/headers.ts";

const SESSION_PATH = /^\/session\/([^/]*)(\/.*)?$/;

/**
 * The session a host names under subdomain routing: the one label before `.{suffix}`,
 * lowercased (host names are case-insensitive), whatever the port and a trailing dot. The
 * suffix itself, deeper names (`x.a.{suffix}`), IP literals and other hosts name none. The
 * label is not checked against `SESSION_ID_PATTERN`: the gateway answers 400 for a bad one,
 * so every `*.{suffix}` host belongs to it.
 *
 * @example
 * ```ts
 * import { sessionIdFromHost } from "./_session_route.ts";
 * sessionIdFromHost("A.Dev.Example.com:8443", "dev.example.com"); // "a"
 * sessionIdFromHost("dev.example.com", "dev.example.com"); // undefined
 * sessionIdFromHost("x.a.dev.example.com", "dev.example.com"); // undefined
 * ```
 */
export function sessionIdFromHost(host: string, suffix: string): string | undefined {
  let name = host.trim().toLowerCase();
  if (name.startsWith("[")) return undefined;
  const colon = name.lastIndexOf(":");
  if (colon >= 0) {
    if (!/^\d*$/.test(name.slice(colon + 1))) return undefined;
    name = name.slice(0, colon);
  }
  if (name.endsWith(".")) name = name.slice(0, -1);
  const tail = "." + suffix.trim().toLowerCase().replace(/\.$/, "");
  if (tail === "." || !name.endsWith(tail)) return undefined;
  const label = name.slice(0, -tail.length);
  return label === "" || label.includes(".") ? undefined : label;
}

/**
 * Which session a request is for: under path routing the `{id}` of `/session/{id}/…` (the
 * rest of the path kept), under subdomain routing the session whose host it is (the whole
 * path); otherwise the 404 to answer. `rest` is undefined for `/session/{id}` without its
 * slash (the caller redirects).
 */
export function sessionRoute(
  req: Request,
  ctx: { url: URL; host?: string },
  suffix: string | undefined,
): { id: string; rest: string | undefined; ownHost: boolean } | Response {
  const fromHost = suffix === undefined
    ? undefined
    : sessionIdFromHost(ctx.host ?? req.headers.get("host") ?? ctx.url.host, suffix);
  if (fromHost !== undefined) return { id: fromHost, rest: ctx.url.pathname, ownHost: true };
  // With subdomain routing, sessions never share the server's origin: no path routes.
  const match = suffix === undefined ? SESSION_PATH.exec(ctx.url.pathname) : null;
  if (!match) {
    return jsonError(
      404,
      "ERR_NOT_FOUND",
      suffix === undefined
        ? `No session in ${ctx.url.pathname}: use /session/{id}/`
        : `No session at ${ctx.url.pathname}: with gateway.routing = "subdomain" each ` +
          `session has its own host, {id}.${suffix}`,
    );
  }
  return { id: match[1], rest: match[2], ownHost: false };
}
