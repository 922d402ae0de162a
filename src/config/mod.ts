/**
 * Configuration of a Switchyard server: `switchyard.toml` < `SWITCHYARD_*`
 * environment variables < command-line flags, validated at start.
 *
 * @example
 * ```ts
 * import { ConfigError, loadConfig } from "./mod.ts";
 * try {
 *   const config = await loadConfig({ flags: {}, env: Deno.env.toObject(), cwd: Deno.cwd() });
 *   console.log(`listening on ${config.host}:${config.port}`);
 * } catch (error) {
 *   if (!(error instanceof ConfigError)) throw error;
 *   console.error(error.message);
 *   Deno.exit(78);
 * }
 * ```
 *
 * @module
 */

export { type Config, DEFAULT_CONFIG } from "./config.ts";
export { ConfigError, type ConfigErrorCode, type ConfigProblem } from "./config_error.ts";
export { configReference } from "./config_reference.ts";
export { didYouMean } from "./did_you_mean.ts";
export { type ConfigFlags, loadConfig, type LoadConfigOptions } from "./load_config.ts";
export { parsePortRange } from "./port_range.ts";
export {
  ALL_FIELDS,
  type CamelCase,
  envName,
  type Field,
  type FieldFlag,
  type FieldKind,
  FIELDS,
  type FieldValue,
  JWT_ALGORITHMS,
  LOG_LEVELS,
  NAMESPACE_FIELDS,
  NAMESPACE_NAME,
  type NamespaceConfig,
  type SchemaField,
  type SectionConfig,
  SECTIONS,
  SUBSCRIBE_MODES,
  type TopLevelConfig,
} from "./schema.ts";
