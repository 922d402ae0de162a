/**
 * `loadConfig()`: reads `switchyard.toml`, `SWITCHYARD_*` environment
 * variables and command-line flags, in that order of precedence, and
 * validates the result.
 *
 * @module
 */

import { resolve } from "node:path";
import { envLayer, fileLayer, flagLayer, Layers } from "./_layers.ts";
import { checkGateway } from "./_gateway_checks.ts";
import { show } from "./_kinds.ts";
import { assembleConfig, type Config } from "./config.ts";
import { ConfigError } from "./config_error.ts";

/** Command-line flags by long name, as `parseCli()` returns them: `{ port: "8443", "no-tls": true }`. */
export type ConfigFlags = Readonly<Record<string, string | boolean | undefined>>;

/** Inputs of {@link loadConfig}; everything it reads from the outside world is here. */
export interface LoadConfigOptions {
  /** Flags by long name; `config` names the configuration file. */
  readonly flags: ConfigFlags;
  /** Environment, e.g. `Deno.env.toObject()`; only `SWITCHYARD_*` names are read. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory that relative paths are resolved against. */
  readonly cwd: string;
  /** Reads a text file; must throw `Deno.errors.NotFound` (or an ENOENT error) when it is missing. */
  readonly readFile?: (path: string) => Promise<string>;
  /** Receives warnings, such as an unknown `SWITCHYARD_*` variable; default `console.warn`. */
  readonly onWarning?: (message: string) => void;
}

const HMAC_ALGORITHMS = new Set(["HS256", "HS384", "HS512"]);

/**
 * Loads and validates the configuration.
 *
 * Precedence: defaults < `switchyard.toml` (`flags.config`, else
 * `./switchyard.toml` when it exists) < `SWITCHYARD_*` variables < flags.
 * Every layer is validated before the result is returned; the `ConfigError`
 * thrown otherwise lists every problem with its key, value, source and fix.
 *
 * @example
 * ```ts
 * import { loadConfig } from "./mod.ts";
 * const config = await loadConfig({
 *   flags: { port: "8443" },
 *   env: Deno.env.toObject(),
 *   cwd: Deno.cwd(),
 * });
 * config.port; // 8443
 * ```
 */
export async function loadConfig(options: LoadConfigOptions): Promise<Config> {
  const readFile = options.readFile ?? ((path: string) => Deno.readTextFile(path));
  const layers = new Layers();
  const configFile = await readConfigFile(layers, options, readFile);
  envLayer(layers, options.env, options.onWarning ?? ((message) => console.warn(message)));
  flagLayer(layers, options.flags);
  layers.throwIfAny();
  await readPublicKeyFile(layers, options.cwd, readFile);
  checkCombinations(layers);
  checkGateway(layers);
  layers.throwIfAny();
  return assembleConfig({
    values: new Map([...layers.settings].map(([key, setting]) => [key, setting.value])),
    namespaces: layers.namespaces,
    configFile,
  });
}

async function readConfigFile(
  layers: Layers,
  options: LoadConfigOptions,
  readFile: (path: string) => Promise<string>,
): Promise<string | undefined> {
  const explicit = options.flags.config;
  if (explicit !== undefined && (typeof explicit !== "string" || explicit.trim() === "")) {
    throw new ConfigError([{
      code: "ERR_CONFIG_FILE",
      key: "",
      source: "--config",
      message: "Missing path after --config: give the file, e.g. --config ./switchyard.toml",
    }]);
  }
  const display = explicit ?? "switchyard.toml";
  const path = resolve(options.cwd, display);
  let text: string;
  try {
    text = await readFile(path);
  } catch (error) {
    if (explicit === undefined && isNotFound(error)) return undefined;
    const reason = isNotFound(error) ? `${path} does not exist` : String(error);
    const from = explicit === undefined ? "" : " (from --config)";
    throw new ConfigError([{
      code: "ERR_CONFIG_FILE",
      key: "",
      source: explicit === undefined ? path : "--config",
      message: `Cannot read config file ${display}${from}: ${reason}; check the path`,
    }]);
  }
  fileLayer(layers, text, display);
  return path;
}

async function readPublicKeyFile(
  layers: Layers,
  cwd: string,
  readFile: (path: string) => Promise<string>,
): Promise<void> {
  const file = layers.get("auth.public_key_file");
  if (file.value === undefined) return;
  const inline = layers.get("auth.public_key");
  const shown = show(undefined, file.value);
  if (inline.value !== undefined) {
    layers.invalid({
      key: "auth.public_key_file",
      shown,
      source: file.source,
      rule: `auth.public_key is set too (from ${inline.source}); keep only one of them`,
    });
    return;
  }
  const path = resolve(cwd, file.value as string);
  let pem: string;
  try {
    pem = await readFile(path);
  } catch (error) {
    const reason = isNotFound(error) ? `${path} does not exist` : String(error);
    layers.problems.push({
      code: "ERR_CONFIG_FILE",
      key: "auth.public_key_file",
      source: file.source,
      message: `Cannot read auth.public_key_file = ${shown} (from ${file.source}): ${reason}; ` +
        "check the path, or put the key in auth.public_key",
    });
    return;
  }
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(pem)) {
    layers.invalid({
      key: "auth.public_key_file",
      shown,
      source: file.source,
      rule: `${path} must hold a PEM public key ("-----BEGIN PUBLIC KEY-----" …)`,
    });
    return;
  }
  layers.settings.set("auth.public_key", { value: pem, source: path });
}

function checkCombinations(layers: Layers): void {
  const value = (key: string) => layers.get(key).value;
  const port = layers.get("port");
  const httpPort = layers.get("http_port");
  if (value("tls") === true && httpPort.value === port.value && port.value !== 0) {
    layers.invalid({
      key: "http_port",
      shown: show(undefined, httpPort.value),
      source: httpPort.source,
      rule: `must differ from port (${port.value}, from ${port.source}); ` +
        'pick another port or set http_port = "off"',
    });
  }
  const buffer = layers.get("limits.max_send_buffer_bytes");
  const message = layers.get("limits.max_message_bytes");
  if ((buffer.value as number) < (message.value as number)) {
    layers.invalid({
      key: "limits.max_send_buffer_bytes",
      shown: String(buffer.value),
      source: buffer.source,
      rule: `must be at least limits.max_message_bytes (${message.value}, from ${message.source})`,
    });
  }
  const hasHmac = value("auth.hmac_secret") !== undefined;
  const hasPublic = value("auth.public_key") !== undefined || value("auth.jwks_url") !== undefined;
  const anonymous = layers.get("auth.anonymous");
  if (anonymous.value === false && !hasHmac && !hasPublic) {
    layers.invalid({
      key: "auth.anonymous",
      shown: "false",
      source: anonymous.source,
      rule: "no token could be verified, so no client could connect; set auth.hmac_secret, " +
        "auth.public_key, auth.public_key_file or auth.jwks_url, or allow anonymous",
    });
  }
  const algorithms = layers.get("auth.algorithms");
  for (const algorithm of algorithms.value as string[]) {
    const hmac = HMAC_ALGORITHMS.has(algorithm);
    if (hmac ? hasHmac : hasPublic) continue;
    layers.invalid({
      key: "auth.algorithms",
      shown: show(undefined, algorithms.value),
      source: algorithms.source,
      rule: `${algorithm} needs ${
        hmac ? "auth.hmac_secret" : "auth.public_key, auth.public_key_file or auth.jwks_url"
      }; set it or remove ${algorithm}`,
    });
    return;
  }
}

function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound ||
    (error as { code?: unknown } | null)?.code === "ENOENT";
}
