/**
 * The `Config` type and its defaults, both derived from the schema.
 *
 * @module
 */

import {
  ALL_FIELDS,
  camelCase,
  NAMESPACE_FIELDS,
  type NamespaceConfig,
  type SectionConfig,
  type TopLevelConfig,
} from "./schema.ts";

/**
 * A validated configuration: every key of `switchyard.toml`, camelCased, with
 * defaults filled in. Optional keys that nothing set are `undefined`.
 *
 * Paths (`certDir`, `publicDir`) are as written, relative to the working
 * directory. `auth.publicKey` holds the PEM text, read from
 * `auth.public_key_file` when that is set.
 */
export interface Config extends TopLevelConfig {
  /** `[session]`: sessions survive transport switches for `graceMs`. */
  readonly session: SectionConfig<"session">;
  /** `[limits]`: per-node, per-session and per-connection limits. */
  readonly limits: SectionConfig<"limits">;
  /** `[auth]`: connection tokens (JWT). */
  readonly auth: SectionConfig<"auth">;
  /** `[sync]`: Yjs document sync. */
  readonly sync: SectionConfig<"sync">;
  /** `[gateway]`: the session gateway (off by default). */
  readonly gateway: SectionConfig<"gateway">;
  /** `[channels]`: options of channels without a namespace. */
  readonly channels: NamespaceConfig;
  /** `[namespaces.NAME]`: options per namespace, by name. */
  readonly namespaces: Readonly<Record<string, NamespaceConfig>>;
  /** Absolute path of the file the configuration was read from, if any. */
  readonly configFile: string | undefined;
}

/** Everything `assembleConfig()` needs: validated values by dotted key. */
export interface ConfigValues {
  /** Values of `ALL_FIELDS`, by dotted key; missing keys take their default. */
  readonly values: ReadonlyMap<string, unknown>;
  /** Values of `NAMESPACE_FIELDS` per namespace, by leaf key. */
  readonly namespaces: ReadonlyMap<string, ReadonlyMap<string, unknown>>;
  /** Absolute path of the configuration file, if one was read. */
  readonly configFile: string | undefined;
}

/**
 * Builds a frozen `Config` from validated values. Used by `loadConfig()`; the
 * values are not checked again.
 */
export function assembleConfig(input: ConfigValues): Config {
  const root: Record<string, unknown> = {};
  for (const field of ALL_FIELDS) {
    const value = input.values.has(field.key) ? input.values.get(field.key) : field.default;
    const path = field.key.split(".");
    let target = root;
    for (const section of path.slice(0, -1)) {
      target = (target[section] ??= {}) as Record<string, unknown>;
    }
    target[camelCase(path.at(-1)!)] = value;
  }
  const namespaces: Record<string, unknown> = {};
  for (const [name, values] of [...input.namespaces].sort(([a], [b]) => a.localeCompare(b))) {
    const namespace: Record<string, unknown> = {};
    for (const field of NAMESPACE_FIELDS) {
      namespace[camelCase(field.key)] = values.has(field.key)
        ? values.get(field.key)
        : field.default;
    }
    namespaces[name] = namespace;
  }
  root.namespaces = namespaces;
  root.configFile = input.configFile;
  return deepFreeze(root) as unknown as Config;
}

/**
 * The configuration when no file, environment variable or flag sets anything.
 *
 * @example
 * ```ts
 * import { DEFAULT_CONFIG } from "./mod.ts";
 * DEFAULT_CONFIG.port; // 4433
 * DEFAULT_CONFIG.limits.maxMessageBytes; // 65536
 * ```
 */
export const DEFAULT_CONFIG: Config = assembleConfig({
  values: new Map(),
  namespaces: new Map(),
  configFile: undefined,
});

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
