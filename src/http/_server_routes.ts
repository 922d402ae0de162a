/**
 * The request handler of the HTTP server: built-in routes, origin checks,
 * CORS, then the added routes.
 *
 * @module
 */

import type { Hub, Logger } from "../core/hub.ts";
import { SwitchyardError } from "../core/errors.ts";
import type { SseEndpoint } from "../transports/sse/mod.ts";
import { acceptWebSocket } from "../transports/websocket/mod.ts";
import { bootstrapDocument, PATHS } from "./bootstrap.ts";
import { corsHeaders, jsonError, preflightResponse, withHeaders } from "./headers.ts";
import type { OriginPolicy } from "./origin_policy.ts";
import { type HostMatcher, type RequestContext, type RouteHandler, Router } from "./router.ts";

/** Which listener a request came through. */
export type Listener = "https" | "http";

/** A connection the server can end by itself (certificate renewal, shutdown). */
export interface Terminable {
  terminate(err: SwitchyardError): void;
}

/** What the routes read from the server. */
export interface ServerState {
  ready(): boolean;
  quicPort(): number | undefined;
  /** The IP address the QUIC endpoint is bound to. */
  quicAddress(): string | undefined;
  hashes(): string[] | undefined;
  /** Register a WebSocket or SSE connection; returns the function to call once it has closed. */
  track(conn: Terminable, listener: Listener): () => void;
}

/** Options of {@linkcode ServerRoutes}. */
export interface ServerRoutesOptions {
  hub: Pick<Hub, "open" | "stats">;
  sse: SseEndpoint;
  origins: OriginPolicy;
  maxMessageBytes: number;
  trustProxy: boolean;
  version: string;
  signal: AbortSignal;
  fallback?: RouteHandler;
  log: Logger;
  state: ServerState;
}

const SSE_POST_PREFIX = PATHS.sse + "/";
const CONN_ID = /^[0-9a-f]{32}$/;

/** Routes requests; see {@linkcode ServerRoutes.handle}. */
export class ServerRoutes {
  readonly router = new Router();
  readonly #o: ServerRoutesOptions;
  #hosts: { matches: HostMatcher; handler: RouteHandler }[] = [];

  constructor(options: ServerRoutesOptions) {
    this.#o = options;
  }

  /**
   * Send every request whose host `matches` accepts to `handler`, before any other route and
   * without the origin checks and CORS of the server's own endpoints: such a host is another
   * site (a gateway session's own origin). Host routes are tried in the order added.
   */
  addHostRoute(matches: HostMatcher, handler: RouteHandler): void {
    this.#hosts = [...this.#hosts, { matches, handler }];
  }

  /** Answer one request; every response gets the security headers. */
  async handle(
    req: Request,
    info: Deno.ServeHandlerInfo<Deno.NetAddr>,
    listener: Listener,
  ): Promise<Response> {
    const url = new URL(req.url);
    const forwarded = this.#o.trustProxy ? forwardedFrom(req) : {};
    const host = forwarded.host ?? req.headers.get("host") ?? url.host;
    const ctx: RequestContext = {
      url,
      rest: "",
      remoteAddress: forwarded.for ?? info.remoteAddr.hostname,
      host,
      secure: forwarded.proto ? forwarded.proto === "https" : listener === "https",
      signal: this.#o.signal,
    };
    const origin = req.headers.get("origin");
    let res: Response;
    let cors: Record<string, string> = {};
    try {
      const hosted = this.#hosts.find((h) => h.matches(host));
      if (hosted) {
        res = await hosted.handler(req, ctx);
      } else {
        const allowed = this.#o.origins.allows(origin, host);
        if (allowed && origin !== null && crossOriginApi(url.pathname)) {
          cors = corsHeaders(origin);
        }
        res = await this.#route(req, ctx, { host, origin, allowed, listener, info });
      }
    } catch (err) {
      this.#o.log.error("Request failed", {
        path: url.pathname,
        error: String((err as Error)?.stack ?? err),
      });
      res = jsonError(500, "ERR_INTERNAL", "Internal server error");
    }
    return withHeaders(res, cors);
  }

  #route(
    req: Request,
    ctx: RequestContext,
    r: {
      host: string;
      origin: string | null;
      allowed: boolean;
      listener: Listener;
      info: Deno.ServeHandlerInfo<Deno.NetAddr>;
    },
  ): Response | Promise<Response> {
    const path = ctx.url.pathname;
    const method = req.method;
    if (method === "OPTIONS" && crossOriginApi(path)) {
      if (r.origin === null || !r.allowed) return this.#forbidden(r.origin);
      return preflightResponse(r.origin, req);
    }
    if (method === "GET" || method === "HEAD") {
      if (path === "/healthz") return Response.json({ status: "ok" }, noStore());
      if (path === "/readyz") {
        return this.#o.state.ready()
          ? Response.json({ status: "ok" }, noStore())
          : Response.json({ status: "shutting_down" }, { status: 503, ...noStore() });
      }
      if (path === PATHS.bootstrap) {
        return Response.json(
          bootstrapDocument({
            version: this.#o.version,
            maxMessageBytes: this.#o.maxMessageBytes,
            secure: ctx.secure,
            host: r.host,
            quicPort: this.#o.state.quicPort(),
            quicAddress: this.#o.state.quicAddress(),
            certificateHashes: this.#o.state.hashes(),
          }),
          noStore(),
        );
      }
    }
    if (path === PATHS.websocket && method === "GET") return this.#websocket(req, ctx, r);
    if (path === PATHS.sse && method === "GET") {
      if (!r.allowed) return this.#forbidden(r.origin);
      let untrack = () => {};
      const { response, transport } = this.#o.sse.open({
        remoteAddress: ctx.remoteAddress,
        completed: r.info.completed,
        onClosed: () => untrack(),
      });
      if (transport.open) untrack = this.#o.state.track(transport, r.listener);
      return response;
    }
    if (method === "POST" && path.startsWith(SSE_POST_PREFIX)) {
      if (!r.allowed) return this.#forbidden(r.origin);
      const id = path.slice(SSE_POST_PREFIX.length);
      if (!CONN_ID.test(id)) {
        return jsonError(
          404,
          "ERR_NOT_FOUND",
          "Unknown SSE connection: open /switchyard/sse again",
        );
      }
      return this.#o.sse.post(req, id);
    }
    const match = this.router.match(method, path);
    if (match) return match.handler(req, { ...ctx, rest: match.rest });
    if (this.#o.fallback) return this.#o.fallback(req, ctx);
    return jsonError(404, "ERR_NOT_FOUND", `Nothing at ${method} ${path.slice(0, 200)}`);
  }

  #websocket(
    req: Request,
    ctx: RequestContext,
    r: { origin: string | null; allowed: boolean; listener: Listener },
  ): Response {
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return jsonError(
        426,
        "ERR_UPGRADE_REQUIRED",
        `Open ${PATHS.websocket} as a WebSocket (HTTP/1.1 Upgrade)`,
      );
    }
    let untrack = () => {};
    const { response, transport } = acceptWebSocket(req, {
      hub: this.#o.hub,
      remoteAddress: ctx.remoteAddress,
      maxMessageBytes: this.#o.maxMessageBytes,
      refuse: r.allowed ? undefined : forbiddenOrigin(r.origin),
      onClosed: () => untrack(),
    });
    untrack = this.#o.state.track(transport, r.listener);
    return response;
  }

  #forbidden(origin: string | null): Response {
    const err = forbiddenOrigin(origin);
    this.#o.hub.stats.error(err.code);
    return jsonError(403, err.code, err.message);
  }
}

function forbiddenOrigin(origin: string | null): SwitchyardError {
  return new SwitchyardError(
    "ERR_FORBIDDEN_ORIGIN",
    `Origin ${JSON.stringify(origin?.slice(0, 100))} is not allowed: add it to allowed_origins`,
  );
}

function noStore(): ResponseInit {
  return { headers: { "cache-control": "no-store" } };
}

/** `X-Forwarded-*` values (the proxy's view: the last `For` entry, the first `Proto`/`Host`). */
function forwardedFrom(req: Request): { for?: string; proto?: string; host?: string } {
  const first = (name: string) => req.headers.get(name)?.split(",")[0].trim() || undefined;
  const forList = req.headers.get("x-forwarded-for")?.split(",");
  return {
    for: forList?.[forList.length - 1].trim() || undefined,
    proto: first("x-forwarded-proto")?.toLowerCase(),
    host: first("x-forwarded-host"),
  };
}

/**
 * Paths that pages on allowed origins may call from another origin (CORS): the protocol
 * endpoints, the document sync HTTP API and its OpenAPI description.
 */
function crossOriginApi(path: string): boolean {
  return path.startsWith("/switchyard/") || path.startsWith("/sync/") || path === "/openapi.json";
}
