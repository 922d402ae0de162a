/**
 * The HTTP server: HTTPS (h1 + h2) on a TCP port and WebTransport (QUIC) on
 * the same UDP port number, optionally plain HTTP on a second port, routing to
 * the transports, health checks and the routes the rest of Switchyard adds.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };
import { DEFAULT_LIMITS } from "../core/mod.ts";
import type { Hub, Logger } from "../core/hub.ts";
import { SwitchyardError } from "../core/errors.ts";
import { SseEndpoint } from "../transports/sse/mod.ts";
import { type ServerWebTransport, WebTransportTransport } from "../transports/webtransport/mod.ts";
import { QuicListener } from "./_quic_listener.ts";
import { type Listener, ServerRoutes, type Terminable } from "./_server_routes.ts";
import { PATHS } from "./bootstrap.ts";
import { OriginPolicy } from "./origin_policy.ts";
import { bindPort } from "./ports.ts";
import type { HostMatcher, RouteHandler } from "./router.ts";

/** Where the server gets its certificate; `CertificateManager` (src/tls) is one. */
export interface CertificateSource {
  /** The leaf to present now, in PEM. */
  readonly current: { readonly certPem: string; readonly keyPem: string };
  /** SHA-256 hashes (base64, or objects with `base64`) a WebTransport client should accept. */
  readonly hashes: readonly (string | { readonly base64: string })[];
  /** Call `listener` after each renewal; returns a function that removes it. */
  onRenew(listener: () => void | Promise<void>): (() => unknown) | void;
}

/** Options of {@linkcode startServer}. */
export interface ServerOptions {
  /** The started hub. `close()` shuts it down. */
  hub: Pick<Hub, "open" | "stats" | "shutdown">;
  /** Interface to listen on. Default `localhost`. */
  hostname?: string;
  /** HTTPS (TCP) and WebTransport (UDP) port, or plain HTTP without TLS; 0 = any. Default 4433. */
  port?: number;
  /** Plain HTTP port besides HTTPS (ignored when `tls` is false); 0 = any. Default: none. */
  httpPort?: number;
  /**
   * Put WebTransport (UDP) on the plain HTTP port's number instead of the HTTPS
   * one, so a page on `http://host:P/` reaches WebTransport on UDP P (the dev
   * server's layout). Needs `httpPort`.
   */
  quicOnHttpPort?: boolean;
  /** Serve HTTPS and WebTransport. Default true; false = plain HTTP on `port` only. */
  tls?: boolean;
  /**
   * Required when `tls` is true. On a renewal the QUIC listener takes the new
   * certificate in place (open WebTransport sessions continue) and the HTTPS
   * listener is rebound on the same port: WebSocket and SSE connections opened
   * through it get `disconnect` 3000 (`ERR_SHUTDOWN`) and resume their session
   * on a new connection, other requests in flight finish, idle keep-alive
   * connections close. Plain HTTP is untouched.
   */
  certificates?: CertificateSource;
  /** Throw when a port is in use instead of taking the next free one. */
  strictPort?: boolean;
  /** Origins allowed to open WebSocket and SSE connections; [] = the request's own host. */
  allowedOrigins?: readonly string[];
  /** Must equal the hub's `limits.maxMessageBytes`. Default 65 536. */
  maxMessageBytes?: number;
  /** Believe `X-Forwarded-Proto`, `-Host` and `-For` (behind a TLS-terminating proxy). */
  trustProxy?: boolean;
  /** `version` of bootstrap.json. Default: deno.json's. */
  version?: string;
  /** Longest wait of `close()` (ms). Default 5 000. */
  shutdownTimeoutMs?: number;
  /** Where warnings (a port switch) and errors go. Default: `console` for warn and error. */
  log?: Logger;
  /** Answers requests no route matched. Default: 404 JSON. */
  fallback?: RouteHandler;
  /** SSE keep-alive interval (ms). Default 15 000. */
  sseKeepAliveMs?: number;
  /** WebTransport: close sessions without a stream after this many ms. Default 10 000. */
  wtStreamTimeoutMs?: number;
}

/** A running server. */
export interface HttpServer {
  /** `https://host:port`, when TLS is on. */
  readonly httpsUrl?: string;
  /** `http://host:port`, when plain HTTP is on. */
  readonly httpUrl?: string;
  /** UDP port of WebTransport, when TLS is on (the HTTPS port number). */
  readonly quicPort?: number;
  /** Every bound port. */
  readonly ports: { readonly https?: number; readonly http?: number; readonly quic?: number };
  /** True from start until `close()` begins. */
  readonly ready: boolean;
  /** Resolves once every listener has stopped (also after a `close()` that timed out). */
  readonly finished: Promise<void>;
  /**
   * Serve `method` (`*` = any) requests whose path is `pathPrefix` or below it.
   * Built-in routes (`/switchyard/*`, `/healthz`, `/readyz`) come first.
   */
  addRoute(method: string, pathPrefix: string, handler: RouteHandler): void;
  /**
   * Serve every request whose host `matches` accepts (`ctx.host`: the `Host` header, or
   * `X-Forwarded-Host` with `trustProxy`; port included, case as sent) with `handler`, ahead
   * of every other route, built-in ones included, and without their origin checks and CORS:
   * such a host is a site of its own (a gateway session on `{id}.dev.example.com`). The
   * response still gets the security headers where the handler set none.
   */
  addHostRoute(matches: HostMatcher, handler: RouteHandler): void;
  /**
   * Stop accepting, shut the hub down (clients get `disconnect` with 3000
   * `ERR_SHUTDOWN`), close the listeners. Resolves within `timeoutMs` even if
   * clients hang. Calling it again returns the same promise.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

const CONSOLE_WARNINGS: Logger = {
  debug() {},
  info() {},
  warn: (msg) => console.warn(msg),
  error: (msg, fields) => console.error(msg, fields ?? ""),
};

/** How long a rebind of the HTTPS port after a renewal keeps retrying (ms). */
const REBIND_MS = 5_000;
/** How long closing waits for clients to answer WebSocket close frames (ms). */
const CLOSE_HANDSHAKE_MS = 1_000;

/**
 * Start the server.
 *
 * @throws {PortInUseError} with `strictPort` when a port is in use, or when 20 ports in a row are.
 *
 * @example
 * ```ts ignore
 * import { startServer } from "./mod.ts";
 * import { CertificateManager } from "../tls/mod.ts";
 * declare const hub: import("../core/mod.ts").Hub;
 * const certificates = await CertificateManager.open({ dir: ".switchyard/certs" });
 * const server = await startServer({ hub, certificates, port: 4433, httpPort: 4480 });
 * console.log(`Serving on ${server.httpUrl} and ${server.httpsUrl}`);
 * server.addRoute("GET", "/metrics", () => new Response("# no metrics yet"));
 * Deno.addSignalListener("SIGINT", () => server.close());
 * ```
 */
export function startServer(options: ServerOptions): Promise<HttpServer> {
  try {
    return Promise.resolve(new SwitchyardServer(options));
  } catch (err) {
    return Promise.reject(err);
  }
}

class SwitchyardServer implements HttpServer {
  readonly #o: ServerOptions;
  readonly #log: Logger;
  readonly #hostname: string;
  readonly #routes: ServerRoutes;
  readonly #sse: SseEndpoint;
  readonly #abort = new AbortController();
  readonly #wtSessions = new Set<WebTransportTransport>();
  /** Everything open through the current HTTPS listener: ended when the certificate changes. */
  #tlsConns = new Set<Terminable>();
  /** Every WebSocket and SSE connection, until it has really closed. */
  readonly #live = new Set<Terminable>();
  readonly #retired: Promise<void>[] = [];
  #https: Deno.HttpServer<Deno.NetAddr> | undefined;
  #http: Deno.HttpServer<Deno.NetAddr> | undefined;
  #quic: QuicListener | undefined;
  #ready = true;
  #closing: Promise<void> | undefined;
  #finished = Promise.withResolvers<void>();
  #rotation: Promise<void> = Promise.resolve();
  #stopRenewals: (() => unknown) | void = undefined;

  constructor(o: ServerOptions) {
    this.#o = o;
    this.#log = o.log ?? CONSOLE_WARNINGS;
    this.#hostname = o.hostname ?? "localhost";
    const maxMessageBytes = o.maxMessageBytes ?? DEFAULT_LIMITS.maxMessageBytes;
    this.#sse = new SseEndpoint({ hub: o.hub, maxMessageBytes, keepAliveMs: o.sseKeepAliveMs });
    this.#routes = new ServerRoutes({
      hub: o.hub,
      sse: this.#sse,
      origins: new OriginPolicy(o.allowedOrigins ?? []),
      maxMessageBytes,
      trustProxy: o.trustProxy ?? false,
      version: o.version ?? denoJson.version,
      signal: this.#abort.signal,
      fallback: o.fallback,
      log: this.#log,
      state: {
        ready: () => this.#ready,
        quicPort: () => this.#quic?.port,
        quicAddress: () => this.#quic?.address,
        hashes: () => o.certificates?.hashes.map((h) => typeof h === "string" ? h : h.base64),
        track: (conn, listener) => this.#track(conn, listener),
      },
    });
    const tls = o.tls ?? true;
    const port = o.port ?? 4433;
    const strictPort = o.strictPort ?? false;
    if (!tls) {
      this.#http = bindPort(
        { port, strictPort, flag: "--port", log: this.#log },
        (p) => this.#serve(p, "http"),
      );
      return;
    }
    const certs = o.certificates;
    if (!certs) throw new TypeError("startServer() needs `certificates` when `tls` is on");
    if (o.quicOnHttpPort && o.httpPort !== undefined) {
      try {
        bindPort({ port: o.httpPort, strictPort, flag: "--port", log: this.#log }, (p) => {
          const http = this.#serve(p, "http");
          try {
            const endpoint = new Deno.QuicEndpoint({
              hostname: this.#hostname,
              port: http.addr.port,
            });
            this.#quic = new QuicListener(endpoint, (wt, ip) => this.#session(wt, ip), this.#log);
          } catch (err) {
            this.#retired.push(http.shutdown());
            throw err;
          }
          this.#http = http;
        });
        this.#quic!.listen(certs.current.certPem, certs.current.keyPem);
        this.#https = bindPort(
          { port, strictPort, flag: "--port", log: this.#log },
          (p) => this.#serve(p, "https"),
        );
      } catch (err) {
        this.#quic?.close();
        if (this.#http) this.#retired.push(this.#http.shutdown());
        throw err;
      }
      this.#stopRenewals = certs.onRenew(() => this.#renewed());
      return;
    }
    try {
      bindPort({ port, strictPort, flag: "--port", log: this.#log }, (p) => {
        const https = this.#serve(p, "https");
        try {
          const endpoint = new Deno.QuicEndpoint({
            hostname: this.#hostname,
            port: https.addr.port,
          });
          this.#quic = new QuicListener(endpoint, (wt, ip) => this.#session(wt, ip), this.#log);
        } catch (err) {
          this.#retired.push(https.shutdown());
          throw err;
        }
        this.#https = https;
      });
      this.#quic!.listen(certs.current.certPem, certs.current.keyPem);
      if (o.httpPort !== undefined) {
        this.#http = bindPort(
          { port: o.httpPort, strictPort, flag: "--http-port", log: this.#log },
          (p) => this.#serve(p, "http"),
        );
      }
    } catch (err) {
      this.#quic?.close();
      if (this.#https) this.#retired.push(this.#https.shutdown());
      throw err;
    }
    this.#stopRenewals = certs.onRenew(() => this.#renewed());
  }

  get ports(): { https?: number; http?: number; quic?: number } {
    return { https: this.#https?.addr.port, http: this.#http?.addr.port, quic: this.#quic?.port };
  }

  get httpsUrl(): string | undefined {
    return this.#https && `https://${displayHost(this.#hostname)}:${this.#https.addr.port}`;
  }

  get httpUrl(): string | undefined {
    return this.#http && `http://${displayHost(this.#hostname)}:${this.#http.addr.port}`;
  }

  get quicPort(): number | undefined {
    return this.#quic?.port;
  }

  get ready(): boolean {
    return this.#ready;
  }

  get finished(): Promise<void> {
    return this.#finished.promise;
  }

  addRoute(method: string, pathPrefix: string, handler: RouteHandler): void {
    this.#routes.router.add(method, pathPrefix, handler);
  }

  addHostRoute(matches: HostMatcher, handler: RouteHandler): void {
    this.#routes.addHostRoute(matches, handler);
  }

  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    const timeoutMs = options.timeoutMs ?? this.#o.shutdownTimeoutMs ?? 5_000;
    this.#ready = false;
    this.#abort.abort();
    if (typeof this.#stopRenewals === "function") this.#stopRenewals();
    const work = this.#shutdown().catch((err) => {
      this.#log.error("Shutdown failed", { error: String(err?.stack ?? err) });
    });
    work.then(() => this.#finished.resolve());
    this.#closing = deadline(work, timeoutMs).then((inTime) => {
      if (inTime) return;
      this.#log.warn(`Shutdown took over ${timeoutMs} ms: cutting the remaining connections`, {
        webtransport: this.#wtSessions.size,
        other: this.#live.size,
      });
      this.#quic?.close();
    });
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    await this.#rotation;
    this.#quic?.stop();
    const err = new SwitchyardError("ERR_SHUTDOWN");
    try {
      await this.#o.hub.shutdown();
    } catch (e) {
      this.#log.error("Hub shutdown failed", { error: String(e) });
    }
    // Sessions the hub never saw (no stream yet, or already refused) end here.
    for (const s of this.#wtSessions) s.terminate(err);
    for (const c of this.#live) c.terminate(err);
    this.#sse.close();
    // Deno's own shutdown closes WebSockets with 1001: let the clients see our 3000 first.
    await Promise.all([
      waitUntilEmpty(this.#live, CLOSE_HANDSHAKE_MS),
      ...[...this.#wtSessions].map((s) => s.done),
    ]);
    this.#quic?.close();
    const servers = [this.#https, this.#http].filter((s) => s !== undefined);
    await Promise.all([...servers.map((s) => s.shutdown()), ...this.#retired]);
  }

  #serve(port: number, listener: Listener): Deno.HttpServer<Deno.NetAddr> {
    const certs = this.#o.certificates;
    const tls = listener === "https"
      ? { cert: certs!.current.certPem, key: certs!.current.keyPem }
      : {};
    return Deno.serve({
      hostname: this.#hostname,
      port,
      ...tls,
      onListen() {},
      onError: (err) => {
        this.#log.error("Request failed", { error: String((err as Error)?.stack ?? err) });
        return Response.json({ error: "ERR_INTERNAL", message: "Internal server error" }, {
          status: 500,
        });
      },
    }, (req, info) => this.#routes.handle(req, info, listener));
  }

  #track(conn: Terminable, listener: Listener): () => void {
    const tlsConns = this.#tlsConns;
    if (listener === "https") tlsConns.add(conn);
    this.#live.add(conn);
    return () => {
      tlsConns.delete(conn);
      this.#live.delete(conn);
    };
  }

  #session(wt: ServerWebTransport, remoteAddress: string): void {
    if (!this.#ready) {
      wt.close({ closeCode: 3000, reason: "The server is shutting down: reconnect elsewhere" });
      return;
    }
    let path = "";
    try {
      path = new URL(wt.url).pathname;
    } catch {
      // Closed below.
    }
    if (path !== PATHS.webtransport) {
      wt.close({ closeCode: 404, reason: `Not found: WebTransport is at ${PATHS.webtransport}` });
      return;
    }
    const session = WebTransportTransport.serve(wt, {
      hub: this.#o.hub,
      remoteAddress,
      maxMessageBytes: this.#o.maxMessageBytes ?? DEFAULT_LIMITS.maxMessageBytes,
      streamTimeoutMs: this.#o.wtStreamTimeoutMs,
      onClosed: (s) => this.#wtSessions.delete(s),
    });
    this.#wtSessions.add(session);
  }

  /**
   * A new certificate: the QUIC listener takes it in place (open WebTransport
   * sessions continue on the old one). The HTTPS listener must be rebound:
   * WebSocket and SSE connections opened through it get `disconnect` 3000 and
   * resume on a new connection, other requests in flight finish, idle
   * keep-alive connections close. Plain HTTP is untouched.
   */
  #renewed(): Promise<void> {
    this.#rotation = this.#rotation.then(() => this.#rotate()).catch((err) => {
      this.#log.error("Certificate swap failed", { error: String(err?.stack ?? err) });
    });
    return this.#rotation;
  }

  async #rotate(): Promise<void> {
    const certs = this.#o.certificates!;
    if (!this.#ready) return;
    this.#quic?.listen(certs.current.certPem, certs.current.keyPem);
    const old = this.#https;
    if (!old) return;
    const conns = this.#tlsConns;
    this.#tlsConns = new Set();
    const err = new SwitchyardError(
      "ERR_SHUTDOWN",
      "The server renewed its TLS certificate: reconnect",
    );
    for (const c of conns) c.terminate(err);
    await waitUntilEmpty(conns, CLOSE_HANDSHAKE_MS);
    const port = old.addr.port;
    this.#retired.push(old.shutdown());
    this.#https = undefined;
    const until = Date.now() + REBIND_MS;
    for (;;) {
      if (!this.#ready) return;
      try {
        this.#https = this.#serve(port, "https");
        this.#log.info("TLS certificate renewed", { port });
        return;
      } catch (e) {
        // The old listener closes asynchronously: retry until its port is free.
        if (!(e instanceof Deno.errors.AddrInUse) || Date.now() > until) {
          this.#log.error(`Cannot serve HTTPS on port ${port} after a certificate renewal`, {
            error: String(e),
          });
          return;
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
}

function displayHost(hostname: string): string {
  if (hostname === "0.0.0.0" || hostname === "::" || hostname === "") return "localhost";
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/** Resolves `true` when `promise` settles within `ms`, else `false` at `ms`. */
function deadline(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise.then(() => true, () => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Resolves when `set` is empty (polled) or after `ms`. */
async function waitUntilEmpty(set: Set<unknown>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (set.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
}
