/**
 * Assembles a running Switchyard from a validated configuration: certificates,
 * authenticator, broker, hub, metrics and the HTTP server with its routes.
 *
 * @module
 */

import { type Config, ConfigError } from "../config/mod.ts";
import { createAuthenticator } from "../auth/mod.ts";
import { MemoryBroker } from "../broker/memory/mod.ts";
import {
  DEFAULT_NAMESPACE,
  Hub,
  type Logger,
  type NamespaceOptions,
  Namespaces,
} from "../core/mod.ts";
import { type HttpServer, startServer } from "../http/mod.ts";
import { createStaticServer } from "../http/static_server.ts";
import { createMetrics, type Metrics } from "../ops/metrics.ts";
import { CertificateManager } from "../tls/mod.ts";
import { ClientBundle } from "./client_bundle.ts";
import type { SyncService } from "../services/sync/sync_service.ts";
import type { GatewayService } from "../services/gateway/gateway_service.ts";
import denoJson from "../../deno.json" with { type: "json" };

/** Options of {@linkcode startSwitchyard}. */
export interface StartOptions {
  log: Logger;
  /** Serve the status page at `/` and add the `demo` namespace. Default true. */
  demo?: boolean;
  /** Namespaces a service adds (the configuration's win on a name clash). */
  namespaces?: Record<string, NamespaceOptions>;
  /**
   * `serve` (default): HTTPS and WebTransport on `port`, plain HTTP on `http_port`.
   * `dev`: plain HTTP and WebTransport on `port`, HTTPS on the next port.
   */
  layout?: "serve" | "dev";
  /** Answers requests that no route matched, before `public_dir` and the 404. */
  fallback?: (req: Request) => Promise<Response | undefined>;
  /** Serve Yjs documents (`[sync]`). Default: `sync.enabled` in the `serve` layout, off in `dev`. */
  sync?: boolean;
}

/** A running Switchyard. */
export interface Switchyard {
  readonly hub: Hub;
  readonly server: HttpServer;
  readonly metrics: Metrics;
  readonly certificates?: CertificateManager;
  /** Document sync, when it runs. */
  readonly sync?: SyncService;
  /** The session gateway (`[gateway]`), when enabled. */
  readonly gateway?: GatewayService;
  /** Stop: clients are told to reconnect; resolves within `shutdown_timeout_ms`. */
  close(): Promise<void>;
}

/** Options of the `demo` namespace that `switchyard serve` adds for its status page. */
export const DEMO_NAMESPACE: NamespaceOptions = {
  ...DEFAULT_NAMESPACE,
  historySize: 1000,
  presence: true,
  joinLeave: true,
};

const FAVICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M1 4h14M1 12h14M4 4l8 8" stroke="#2a4" stroke-width="2" fill="none"/></svg>';

const STATUS_PAGE = new URL("../demo/status.html", import.meta.url);

/**
 * Start Switchyard.
 *
 * @example
 * ```ts
 * import { loadConfig } from "../config/mod.ts";
 * import { createLogger } from "../ops/logger.ts";
 * import { startSwitchyard } from "./switchyard.ts";
 * const config = await loadConfig({ flags: {}, env: {}, cwd: Deno.cwd() });
 * const app = await startSwitchyard(config, { log: createLogger({ level: "info", format: "json" }) });
 * app.hub.rpc("time", () => Date.now());
 * await app.close();
 * ```
 */
export async function startSwitchyard(config: Config, options: StartOptions): Promise<Switchyard> {
  const { log } = options;
  const demo = options.demo ?? true;
  const authenticator = await createAuthenticator({
    anonymous: config.auth.anonymous,
    hmacSecret: config.auth.hmacSecret,
    publicKey: config.auth.publicKey,
    jwksUrl: config.auth.jwksUrl,
    algorithms: config.auth.algorithms.length > 0 ? [...config.auth.algorithms] : undefined,
    audience: config.auth.audience,
    issuer: config.auth.issuer,
  });
  const named: Record<string, NamespaceOptions> = { ...options.namespaces };
  const syncOn = options.sync ?? ((options.layout ?? "serve") === "serve" && config.sync.enabled);
  // Loaded only when used: `switchyard dev` should not pay for Yjs and SQLite.
  const syncModule = syncOn ? await import("../services/sync/sync_service.ts") : undefined;
  const syncSettings = {
    ...config.sync,
    anonymous: config.sync.anonymous === "auto"
      ? (config.auth.hmacSecret || config.auth.publicKey || config.auth.jwksUrl ? "none" : "rw")
      : config.sync.anonymous,
  } as const;
  const syncStore = syncModule?.SyncService.openStore(syncSettings);
  for (const [name, ns] of Object.entries(config.namespaces)) named[name] = { ...ns };
  if (syncModule) {
    // A [namespaces.sync] table may tune history or presence, never lift the docs claim guard.
    for (const [name, ns] of Object.entries(syncModule.SyncService.namespaces(syncSettings))) {
      named[name] = config.namespaces[name]
        ? { ...config.namespaces[name], guard: ns.guard, publish: false }
        : ns;
    }
  }
  if (demo && !named.demo) named.demo = DEMO_NAMESPACE;
  const gatewayOn = (options.layout ?? "serve") === "serve" && config.gateway.enabled;
  let gateway: GatewayService | undefined;
  // Loaded only when used, like sync: most servers run no dev servers.
  const gatewayModule = gatewayOn ? await import("../services/gateway/gateway_app.ts") : undefined;
  if (gatewayModule) {
    Object.assign(named, gatewayModule.gatewayNamespaces(config.gateway, config.namespaces));
    try {
      gateway = gatewayModule.createGateway(config.gateway, { authenticator, log });
    } catch (error) {
      syncStore?.close();
      const message = (error as Error).message;
      throw new ConfigError([{
        code: "ERR_CONFIG_INVALID",
        key: /gateway\.[a-z_]+/.exec(message)?.[0] ?? "gateway.command",
        source: config.configFile ?? "config",
        message: `Cannot start the session gateway: ${(error as Error).message}`,
      }]);
    }
  }
  const broker = new MemoryBroker();
  const metrics = createMetrics();
  const hub = new Hub({
    broker,
    presence: broker,
    authenticator,
    namespaces: new Namespaces({ ...config.channels }, named),
    limits: { ...config.limits },
    session: { ...config.session },
    log,
    observer: metrics.observer,
  });
  metrics.bind(hub);
  await hub.start();

  let certificates: CertificateManager | undefined;
  if (config.tls) {
    certificates = await CertificateManager.open({
      dir: config.certDir,
      hostnames: extraHostnames(config.host),
    });
    certificates.onError((err) => log.error("Certificate renewal failed", { error: String(err) }));
    certificates.onRenew((leaf) =>
      log.info("Renewed the TLS certificate", { notAfter: leaf.notAfter.toISOString() })
    );
    certificates.start();
  }

  const bundle = new ClientBundle();
  bundle.warm();
  const publicFiles = config.publicDir
    ? createStaticServer({ root: config.publicDir, listing: false })
    : undefined;
  let server: HttpServer;
  try {
    server = await startServer({
      hub,
      hostname: config.host,
      ...ports(config, options.layout ?? "serve"),
      tls: config.tls,
      certificates,
      strictPort: config.strictPort,
      allowedOrigins: config.allowedOrigins,
      trustProxy: config.trustProxy,
      maxMessageBytes: config.limits.maxMessageBytes,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      log,
      fallback: async (req) => {
        const served = options.fallback ? await options.fallback(req) : undefined;
        if (served) return served;
        if (publicFiles) {
          const res = await publicFiles(req);
          // The status page answers `/` unless public_dir has its own index.html.
          if (!(demo && res.status === 404 && new URL(req.url).pathname === "/")) return res;
          await res.body?.cancel();
        }
        if (demo && new URL(req.url).pathname === "/") return await statusPage();
        return Response.json(
          { error: "ERR_NOT_FOUND", message: `Nothing at ${new URL(req.url).pathname}` },
          { status: 404 },
        );
      },
    });
  } catch (err) {
    await gateway?.close();
    await certificates?.stop();
    await hub.shutdown();
    syncStore?.close();
    throw err;
  }
  server.addRoute("GET", "/metrics", async () => {
    const { contentType, body } = await metrics.render();
    return new Response(body, { headers: { "content-type": contentType } });
  });
  server.addRoute("GET", "/switchyard/client.js", () => bundle.response());
  server.addRoute(
    "GET",
    "/favicon.ico",
    () => new Response(FAVICON, { headers: { "content-type": "image/svg+xml" } }),
  );
  if (demo) server.addRoute("GET", "/switchyard/status", statusPage);
  if (gateway && gatewayModule) {
    gatewayModule.mountGateway(gateway, {
      hub,
      server,
      metrics,
      authenticator,
      settings: config.gateway,
      log,
    });
  }
  let sync: SyncService | undefined;
  if (syncModule && syncStore) {
    sync = syncModule.SyncService.start(hub, server, {
      store: syncStore,
      settings: syncSettings,
      authenticator,
      log,
      version: denoJson.version,
      observer: metrics.syncObserver,
    });
    const started = sync;
    metrics.bindSync(() => started.stats);
  }
  let closing: Promise<void> | undefined;
  return {
    hub,
    server,
    metrics,
    certificates,
    sync,
    gateway,
    close() {
      closing ??= (async () => {
        // Process groups stop alongside the server, so none outlives a SIGINT or SIGTERM.
        await Promise.all([
          server.close({ timeoutMs: config.shutdownTimeoutMs }),
          gateway?.close(),
        ]);
        await sync?.close();
        await certificates?.stop();
      })();
      return closing;
    },
  };
}

async function statusPage(): Promise<Response> {
  return new Response(await Deno.readFile(STATUS_PAGE), {
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" },
  });
}

/** Which port gets what, in each layout. */
function ports(config: Config, layout: "serve" | "dev") {
  if (layout === "dev" && config.tls) {
    return {
      port: config.port === 0 ? 0 : Math.min(65535, config.port + 1),
      httpPort: config.port,
      quicOnHttpPort: true,
    };
  }
  return {
    port: config.port,
    httpPort: config.httpPort === "off" ? undefined : config.httpPort,
  };
}

/** Names the leaf certificate must cover besides localhost, for a given listen host. */
function extraHostnames(host: string): string[] {
  if (["localhost", "127.0.0.1", "::1"].includes(host)) return [];
  if (host !== "0.0.0.0" && host !== "::") return [host];
  const names = new Set<string>();
  try {
    names.add(Deno.hostname());
  } catch { /* not permitted: localhost only */ }
  for (const nic of Deno.networkInterfaces()) {
    if (nic.family === "IPv4" && !nic.address.startsWith("127.")) names.add(nic.address);
  }
  return [...names];
}
