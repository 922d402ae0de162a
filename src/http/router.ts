/**
 * Routes the lead's features plug in: metrics, the client bundle, pages, static files.
 *
 * @module
 */

/** What a route handler learns about a request besides the request itself. */
export interface RequestContext {
  /** The parsed request URL. */
  url: URL;
  /** The path after the route's prefix, starting with `/` (or `""` for the prefix itself). */
  rest: string;
  /** The client's IP address. */
  remoteAddress: string;
  /**
   * The host the client asked for: the `Host` header (`:authority` in HTTP/2), or the first
   * `X-Forwarded-Host` when the server trusts its proxy. May carry a port.
   */
  host: string;
  /** Whether the client reached the server over TLS (directly or through a trusted proxy). */
  secure: boolean;
  /** Aborts when the server starts closing: long-lived responses should end then. */
  signal: AbortSignal;
}

/** A route handler. Its response gets the security headers like every other. */
export type RouteHandler = (req: Request, ctx: RequestContext) => Response | Promise<Response>;

/**
 * Whether a host route takes the requests for `host` (the request's host as sent, port
 * included): see `HttpServer.addHostRoute()`.
 */
export type HostMatcher = (host: string) => boolean;

interface Route {
  method: string;
  prefix: string;
  handler: RouteHandler;
}

/**
 * Prefix routes, longest prefix first. `/metrics` matches `/metrics` and
 * `/metrics/…`; a prefix ending in `/` matches everything below it; `/`
 * matches every path. Method `*` matches every method.
 *
 * @example
 * ```ts
 * import { Router } from "./mod.ts";
 * const router = new Router();
 * router.add("GET", "/metrics", () => new Response("# metrics"));
 * router.match("GET", "/metrics")?.rest; // ""
 * ```
 */
export class Router {
  #routes: Route[] = [];

  /** Add a route; a later route with the same method and prefix replaces the earlier one. */
  add(method: string, prefix: string, handler: RouteHandler): void {
    if (!prefix.startsWith("/")) {
      throw new TypeError(`Invalid route prefix "${prefix}": it must start with "/"`);
    }
    const m = method.toUpperCase();
    this.#routes = this.#routes.filter((r) => !(r.method === m && r.prefix === prefix));
    this.#routes.push({ method: m, prefix, handler });
    this.#routes.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /** The route for a request, with the path below its prefix. */
  match(method: string, path: string): { handler: RouteHandler; rest: string } | undefined {
    for (const r of this.#routes) {
      if (r.method !== "*" && r.method !== method) continue;
      if (path === r.prefix) return { handler: r.handler, rest: "" };
      const base = r.prefix.endsWith("/") ? r.prefix.slice(0, -1) : r.prefix;
      if (path.startsWith(base + "/")) return { handler: r.handler, rest: path.slice(base.length) };
    }
    return undefined;
  }
}
