/**
 * Checks of `[gateway]` that span several keys or need more than a kind. Private to
 * `src/config/`.
 *
 * @module
 */

import { show } from "./_kinds.ts";
import type { Layers } from "./_layers.ts";
import { parsePortRange } from "./port_range.ts";

/** A domain name: dot-separated labels of letters, digits and inner dashes. */
const DOMAIN =
  /^(?=.{1,190}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** Records every problem of the `[gateway]` settings in `layers`. */
export function checkGateway(layers: Layers): void {
  const refuse = (key: string, rule: string) => {
    const setting = layers.get(key);
    layers.invalid({ key, shown: show(undefined, setting.value), source: setting.source, rule });
  };
  const enabled = layers.get("gateway.enabled");
  const on = enabled.value === true;
  const command = layers.get("gateway.command").value as string | undefined;
  if (on && (command === undefined || command.trim() === "")) {
    layers.problems.push({
      code: "ERR_CONFIG_INVALID",
      key: "gateway.command",
      source: enabled.source,
      message: `Missing gateway.command: it is required when gateway.enabled = true (from ` +
        `${enabled.source}); set the command that starts one dev server, e.g. ` +
        `command = "npx vite --port {port} --base /session/{id}/ --strictPort --host 127.0.0.1"`,
    });
  }
  if (parsePortRange(layers.get("gateway.port_range").value as string) === undefined) {
    refuse(
      "gateway.port_range",
      'must be two ports "LOW-HIGH" from 1 to 65535, low first, e.g. "41000-41999"',
    );
  }
  const ready = layers.get("gateway.ready").value as string;
  if (ready !== "tcp" && !ready.startsWith("/")) {
    refuse(
      "gateway.ready",
      'must be "tcp" or an HTTP path starting with "/", e.g. "/session/{id}/"',
    );
  }
  const routing = layers.get("gateway.routing");
  const suffix = layers.get("gateway.subdomain_suffix");
  if (typeof suffix.value === "string" && !DOMAIN.test(suffix.value)) {
    refuse(
      "gateway.subdomain_suffix",
      "must be a domain name without scheme, port, wildcard or leading dot, e.g. " +
        '"dev.example.com" (sessions are then a.dev.example.com, b.dev.example.com, …)',
    );
  }
  if (on && routing.value === "subdomain" && suffix.value === undefined) {
    layers.problems.push({
      code: "ERR_CONFIG_INVALID",
      key: "gateway.subdomain_suffix",
      source: routing.source,
      message: `Missing gateway.subdomain_suffix: it is required when gateway.routing = ` +
        `"subdomain" (from ${routing.source}); set the domain whose subdomains are sessions, ` +
        `e.g. subdomain_suffix = "dev.example.com" for a.dev.example.com`,
    });
  }
  const anonymous = layers.get("gateway.anonymous");
  const keyed = ["auth.hmac_secret", "auth.public_key", "auth.jwks_url"].some((key) =>
    layers.get(key).value !== undefined
  );
  if (on && anonymous.value === false && !keyed) {
    layers.invalid({
      key: "gateway.anonymous",
      shown: "false",
      source: anonymous.source,
      rule: "no session token could be verified, so no session could be opened; set " +
        "auth.hmac_secret, auth.public_key, auth.public_key_file or auth.jwks_url, or set " +
        "gateway.anonymous = true for local use",
    });
  }
}
