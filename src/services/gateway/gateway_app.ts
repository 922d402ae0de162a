/**
 * The session gateway inside a Switchyard server, in the two steps the server takes: before
 * the hub exists, the `gateway-logs` namespace and the `GatewayService`; once the hub and the
 * HTTP server run, the log publishing, the metrics, `/session/` (and session hosts) and the
 * API under `/gateway/`. Loaded only when `[gateway] enabled`.
 *
 * @module
 */

import type { Authenticator } from "../../auth/mod.ts";
import type { Hub, Logger, NamespaceOptions } from "../../core/mod.ts";
import type { HttpServer, RouteHandler } from "../../http/mod.ts";
import type { Metrics } from "../../ops/metrics.ts";
import { createGatewayApi, GATEWAY_API_PREFIX } from "./admin_api.ts";
import {
  GATEWAY_LOGS_NAMESPACE,
  gatewayLogsNamespace,
  logChannel,
  publishGatewayLogs,
} from "./gateway_logs.ts";
import { GatewayService } from "./gateway_service.ts";
import { gatewayOptions, type GatewaySettings } from "./gateway_settings.ts";

/**
 * The `gateway-logs` namespace, over a `[namespaces.gateway-logs]` table if the config has
 * one: like sync's, its guard and `publish = false` always win.
 */
export function gatewayNamespaces(
  settings: Pick<GatewaySettings, "anonymous">,
  configured: Readonly<Record<string, NamespaceOptions>>,
): Record<string, NamespaceOptions> {
  const ns = gatewayLogsNamespace(settings.anonymous);
  const own = configured[GATEWAY_LOGS_NAMESPACE];
  return { [GATEWAY_LOGS_NAMESPACE]: own ? { ...own, guard: ns.guard, publish: false } : ns };
}

/** Creates the service; throws `ERR_BAD_TEMPLATE` naming the key for a bad template. */
export function createGateway(
  settings: GatewaySettings,
  deps: { authenticator: Pick<Authenticator, "connect">; log: Logger },
): GatewayService {
  return new GatewayService(gatewayOptions(settings, deps));
}

/** What {@linkcode mountGateway} wires the gateway into. */
export interface GatewayMount {
  hub: Hub;
  server: HttpServer;
  metrics: Metrics;
  authenticator: Pick<Authenticator, "connect">;
  settings: Pick<GatewaySettings, "anonymous" | "readyTimeoutMs">;
  log: Logger;
}

/** Publishes the sessions' logs, binds the metrics and adds the routes. */
export function mountGateway(gateway: GatewayService, mount: GatewayMount): void {
  const { hub, server, settings, log } = mount;
  mount.metrics.bindGateway(() => gateway.stats());
  publishGatewayLogs(gateway, (channel, data) => hub.publish(channel, data), {
    onError: (error) => log.warn("Cannot publish a session log line", { error: String(error) }),
  });
  const toSession: RouteHandler = (req, ctx) =>
    gateway.handle(req, {
      url: ctx.url,
      remoteAddress: ctx.remoteAddress,
      secure: ctx.secure,
      host: ctx.host,
    });
  server.addRoute("*", "/session/", toSession);
  // routing = "subdomain": `{id}.{suffix}` is wholly the session's, ahead of our own routes.
  server.addHostRoute((host) => gateway.servesHost(host), toSession);
  server.addRoute(
    "*",
    GATEWAY_API_PREFIX,
    createGatewayApi({
      gateway,
      authenticator: mount.authenticator,
      anonymous: settings.anonymous,
      readyLimitMs: settings.readyTimeoutMs + 1000,
      logPosition: async (id) => (await hub.history(logChannel(id), { limit: 0 })).top,
    }),
  );
}
