/**
 * Turns the `[gateway]` settings of `switchyard.toml` into {@linkcode GatewayOptions}.
 *
 * @module
 */

import type { Authenticator } from "../../auth/mod.ts";
import type { Logger } from "../../core/mod.ts";
import type { GatewayOptions } from "./gateway_service.ts";
import { GatewayError } from "./_gateway_error.ts";
import { parseEnvTemplate } from "./_command_template.ts";

/** The `[gateway]` values this needs, as `Config.gateway` holds them. */
export interface GatewaySettings {
  readonly command?: string;
  readonly cwd: string;
  readonly env?: string;
  readonly ready: string;
  readonly readyTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxSessions: number;
  readonly portRange: string;
  readonly startOnRequest: boolean;
  readonly anonymous: boolean;
  /** `"subdomain"` needs `subdomainSuffix`; default `"path"`. */
  readonly routing?: "path" | "subdomain";
  readonly subdomainSuffix?: string;
}

/**
 * The options of a `GatewayService` for `settings`: tokens are checked with `authenticator`
 * unless `anonymous`. Throws `ERR_BAD_TEMPLATE` naming the key for a missing command, a bad
 * `env` entry, a bad `port_range` or subdomain routing without a `subdomain_suffix` (which
 * `loadConfig()` refuses already).
 *
 * @example
 * ```ts ignore
 * import { gatewayOptions } from "./gateway_settings.ts";
 * import { GatewayService } from "./gateway_service.ts";
 * declare const config: import("../../config/mod.ts").Config;
 * declare const authenticator: import("../../auth/mod.ts").Authenticator;
 * const gateway = new GatewayService(gatewayOptions(config.gateway, { authenticator, log: console }));
 * ```
 */
export function gatewayOptions(
  settings: GatewaySettings,
  deps: { authenticator: Pick<Authenticator, "connect">; log: Logger },
): GatewayOptions {
  const command = settings.command?.trim();
  if (!command) {
    throw new GatewayError(
      "ERR_BAD_TEMPLATE",
      "Missing gateway.command: set the command that starts one dev server",
    );
  }
  let env: Record<string, string>;
  try {
    env = parseEnvTemplate(settings.env ?? "");
  } catch (error) {
    throw new GatewayError("ERR_BAD_TEMPLATE", `Invalid gateway.env: ${(error as Error).message}`);
  }
  const range = /^\s*(\d+)\s*-\s*(\d+)\s*$/.exec(settings.portRange);
  if (!range) {
    throw new GatewayError(
      "ERR_BAD_TEMPLATE",
      `Invalid gateway.port_range ${JSON.stringify(settings.portRange)}: use "LOW-HIGH"`,
    );
  }
  const suffix = settings.subdomainSuffix?.trim();
  if (settings.routing === "subdomain" && !suffix) {
    throw new GatewayError(
      "ERR_BAD_TEMPLATE",
      'Missing gateway.subdomain_suffix: it is required with gateway.routing = "subdomain"',
    );
  }
  return {
    command,
    // "." leaves the server's own directory, which `{dir}` then names in full.
    cwd: settings.cwd === "." ? undefined : settings.cwd,
    env,
    readiness: settings.ready === "tcp" ? { type: "tcp" } : { type: "http", path: settings.ready },
    readyTimeoutMs: settings.readyTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    maxSessions: settings.maxSessions,
    portRange: [Number(range[1]), Number(range[2])],
    startOnRequest: settings.startOnRequest,
    subdomainSuffix: settings.routing === "subdomain" ? suffix : undefined,
    log: deps.log,
    access: { authenticator: deps.authenticator, anonymous: settings.anonymous },
  };
}
