/**
 * The error `loadConfig()` throws for any configuration it refuses.
 *
 * @module
 */

/** Why a configuration was refused. */
export type ConfigErrorCode =
  /** A value has the wrong type, is out of range, or conflicts with another value. */
  | "ERR_CONFIG_INVALID"
  /** `switchyard.toml` has a key Switchyard does not know, or an env var is not supported. */
  | "ERR_CONFIG_UNKNOWN_KEY"
  /** `switchyard.toml` is not valid TOML. */
  | "ERR_CONFIG_SYNTAX"
  /** A file named by the configuration cannot be read. */
  | "ERR_CONFIG_FILE";

/** One refused value. */
export interface ConfigProblem {
  /** Why the value was refused. */
  readonly code: ConfigErrorCode;
  /** Dotted key, e.g. `limits.max_message_bytes`; `""` when the problem is the whole file. */
  readonly key: string;
  /** Where the value came from: `switchyard.toml:12`, `SWITCHYARD_PORT`, `--port` or `default`. */
  readonly source: string;
  /** Full sentence naming the key, the value, the source and the fix. */
  readonly message: string;
}

/**
 * A configuration Switchyard cannot start with.
 *
 * Validation goes on after the first bad value, so one run reports every
 * problem: `problems` lists them all, `message` has one line per problem, and
 * `code`, `key` and `source` describe the first.
 *
 * @example
 * ```ts
 * import { ConfigError, loadConfig } from "./mod.ts";
 * try {
 *   await loadConfig({ flags: { port: "99999" }, env: {}, cwd: "/srv" });
 * } catch (error) {
 *   if (error instanceof ConfigError) console.error(error.message);
 * }
 * ```
 */
export class ConfigError extends Error {
  /** Code of the first problem. */
  readonly code: ConfigErrorCode;
  /** Key of the first problem. */
  readonly key: string;
  /** Source of the first problem. */
  readonly source: string;
  /** Every problem found, in file, environment, flag order. */
  readonly problems: readonly ConfigProblem[];

  /** Builds the error from at least one problem. */
  constructor(problems: readonly [ConfigProblem, ...ConfigProblem[]]) {
    super(problems.map((problem) => problem.message).join("\n"));
    this.name = "ConfigError";
    this.code = problems[0].code;
    this.key = problems[0].key;
    this.source = problems[0].source;
    this.problems = problems;
  }
}
