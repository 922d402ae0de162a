/**
 * The three layers of configuration (file, environment, flags), each turned
 * into validated settings. Private to `src/config/`.
 *
 * @module
 */

import { parse, TomlError } from "smol-toml";
import { checkText, checkValue, describe, show, showText } from "./_kinds.ts";
import { lineOf, tomlKeyLines } from "./_toml_lines.ts";
import { ConfigError, type ConfigProblem } from "./config_error.ts";
import { didYouMean } from "./did_you_mean.ts";
import {
  ALL_FIELDS,
  envName,
  type Field,
  NAMESPACE_FIELDS,
  NAMESPACE_NAME,
  SECTIONS,
} from "./schema.ts";

/** A validated value and where it came from. */
export interface Setting {
  readonly value: unknown;
  /** `switchyard.toml:12`, `SWITCHYARD_PORT`, `--port`, a file path, or `default`. */
  readonly source: string;
}

/** Settings and problems gathered so far; later layers overwrite earlier ones. */
export class Layers {
  readonly settings = new Map<string, Setting>();
  readonly namespaces = new Map<string, Map<string, unknown>>();
  readonly problems: ConfigProblem[] = [];

  /** The winning setting of a field, or its default. */
  get(key: string): Setting {
    return this.settings.get(key) ?? { value: FIELD_BY_KEY.get(key)?.default, source: "default" };
  }

  /** Records a refused value: `Invalid key = shown (from source): rule`. */
  invalid({ key, shown, source, rule }: Refusal): void {
    this.problems.push({
      code: "ERR_CONFIG_INVALID",
      key,
      source,
      message: `Invalid ${key} = ${shown} (from ${source}): ${rule}`,
    });
  }

  /** Throws a `ConfigError` listing every problem, if there is one. */
  throwIfAny(): void {
    const [first, ...rest] = this.problems;
    if (first) throw new ConfigError([first, ...rest]);
  }

  /**
   * Checks a value for `field`: a TOML value (`raw`) or the text of an
   * environment variable or flag (`text`). Returns the value to use, or
   * {@link INVALID} after recording why it was refused.
   */
  check(
    field: Field,
    input: { key: string; source: string; raw?: unknown; text?: string },
  ): unknown {
    const { key, source, raw, text } = input;
    const checked = text === undefined ? checkValue(field, raw) : checkText(field, text);
    if (checked.ok) return checked.value;
    const shown = text === undefined ? show(field, raw) : showText(field, text);
    const hint = checked.hint ? `; ${checked.hint}` : "";
    this.invalid({ key, shown, source, rule: `must be ${describe(field)}${hint}` });
    return INVALID;
  }
}

/** A refused value, for `Layers.invalid()`. */
export interface Refusal {
  /** Dotted key. */
  readonly key: string;
  /** The value as the message shows it. */
  readonly shown: string;
  /** Where the value came from. */
  readonly source: string;
  /** What is wrong and the fix, e.g. `must be an integer from 0 to 65535`. */
  readonly rule: string;
}

/** Marks a value `Layers.check()` refused. */
export const INVALID: unique symbol = Symbol("invalid");

/** Every field by dotted key. */
export const FIELD_BY_KEY: ReadonlyMap<string, Field> = new Map(
  ALL_FIELDS.map((field) => [field.key, field]),
);
const NAMESPACE_FIELD_BY_KEY = new Map<string, Field>(
  NAMESPACE_FIELDS.map((field) => [field.key, field]),
);

/** Validates a parsed `switchyard.toml` into `layers`. `display` names the file in messages. */
export function fileLayer(layers: Layers, source: string, display: string): void {
  const document = parseToml(source, display);
  const lines = tomlKeyLines(source);
  const where = (path: readonly string[]) => {
    const line = lineOf(lines, path);
    return line === undefined ? display : `${display}:${line}`;
  };
  const set = (field: Field, path: string[], raw: unknown) => {
    const value = layers.check(field, { key: path.join("."), source: where(path), raw });
    if (value !== INVALID) layers.settings.set(field.key, { value, source: where(path) });
  };
  for (const [key, value] of Object.entries(document)) {
    const field = FIELD_BY_KEY.get(key);
    if (field) set(field, [key], value);
    else if (!(key in SECTIONS)) unknownKey(layers, [key], value, where([key]));
    else if (!isTable(value)) {
      const shown = show(undefined, value);
      layers.invalid({ key, shown, source: where([key]), rule: `must be a table: [${key}]` });
    } else if (key === "namespaces") {
      namespacesTable(layers, value, where);
    } else {
      for (const [leaf, raw] of Object.entries(value)) {
        const inner = FIELD_BY_KEY.get(`${key}.${leaf}`);
        if (inner) set(inner, [key, leaf], raw);
        else unknownKey(layers, [key, leaf], raw, where([key, leaf]));
      }
    }
  }
}

function namespacesTable(
  layers: Layers,
  table: Record<string, unknown>,
  where: (path: readonly string[]) => string,
): void {
  for (const [name, options] of Object.entries(table)) {
    const path = ["namespaces", name];
    if (!NAMESPACE_NAME.test(name)) {
      const fixed = name.toLowerCase().replace(/[^a-z0-9_-]+/g, "_");
      layers.invalid({
        key: "namespace name",
        shown: JSON.stringify(name),
        source: where(path),
        rule: `use lowercase letters, digits, _ and - only, e.g. [namespaces.${fixed || "chat"}]`,
      });
      continue;
    }
    if (!isTable(options)) {
      layers.invalid({
        key: path.join("."),
        shown: show(undefined, options),
        source: where(path),
        rule: `must be a table: [namespaces.${name}]`,
      });
      continue;
    }
    const values = new Map<string, unknown>();
    layers.namespaces.set(name, values);
    for (const [leaf, raw] of Object.entries(options)) {
      const field = NAMESPACE_FIELD_BY_KEY.get(leaf);
      const leafPath = [...path, leaf];
      if (!field) {
        unknownKey(layers, leafPath, raw, where(leafPath));
        continue;
      }
      const key = leafPath.join(".");
      const value = layers.check(field, { key, source: where(leafPath), raw });
      if (value !== INVALID) values.set(leaf, value);
    }
  }
}

/** Applies `SWITCHYARD_*` variables; reports unknown ones through `warn`. */
export function envLayer(
  layers: Layers,
  env: Readonly<Record<string, string | undefined>>,
  warn: (message: string) => void,
): void {
  const known = new Map<string, Field>();
  for (const field of ALL_FIELDS) if (field.env !== false) known.set(envName(field.key), field);
  for (const [name, text] of Object.entries(env)) {
    if (text === undefined || !name.startsWith("SWITCHYARD_")) continue;
    const field = known.get(name);
    if (field) {
      const value = layers.check(field, { key: field.key, source: name, text });
      if (value !== INVALID) layers.settings.set(field.key, { value, source: name });
    } else if (name.startsWith("SWITCHYARD_NAMESPACES_")) {
      layers.problems.push({
        code: "ERR_CONFIG_UNKNOWN_KEY",
        key: "namespaces",
        source: name,
        message:
          `Unsupported environment variable ${name}: namespaces are set only in switchyard.toml, ` +
          "under [namespaces.NAME]",
      });
    } else {
      const guess = didYouMean(name, known.keys());
      warn(
        `Ignoring unknown environment variable ${name}` +
          (guess ? `: did you mean ${guess}?` : ": see docs/configuration.md"),
      );
    }
  }
}

/** Applies command-line flags, keyed by long name (`"http-port"`, `"no-tls"`). */
export function flagLayer(
  layers: Layers,
  flags: Readonly<Record<string, string | boolean | undefined>>,
): void {
  const byFlag = new Map<string, Field>();
  for (const field of ALL_FIELDS) if (field.flag) byFlag.set(field.flag.name, field);
  for (const [name, given] of Object.entries(flags)) {
    if (given === undefined || name === "config") continue;
    const field = byFlag.get(name);
    if (!field) throw new TypeError(`loadConfig(): no config flag named "${name}"`);
    const source = `--${name}`;
    if (field.flag?.sets !== undefined) {
      if (given === true) layers.settings.set(field.key, { value: field.flag.sets, source });
      continue;
    }
    const value = layers.check(field, { key: field.key, source, text: String(given) });
    if (value !== INVALID) layers.settings.set(field.key, { value, source });
  }
}

function parseToml(source: string, display: string): Record<string, unknown> {
  try {
    return parse(source);
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const [reason, ...excerpt] = error.message.replace(/^Invalid TOML document: /, "").split("\n");
    const snippet = excerpt.join("\n").trimEnd();
    throw new ConfigError([{
      code: "ERR_CONFIG_SYNTAX",
      key: "",
      source: `${display}:${error.line}`,
      message: `Invalid TOML at ${display}:${error.line}:${error.column}: ${reason}` +
        (snippet ? `\n${snippet}` : ""),
    }]);
  }
}

function unknownKey(layers: Layers, path: string[], value: unknown, source: string): void {
  const key = path.join(".");
  const isSection = path.length === 1 && isTable(value);
  const inNamespace = path[0] === "namespaces";
  const candidates = inNamespace
    ? NAMESPACE_FIELDS.map((field) => [...path.slice(0, -1), field.key].join("."))
    : [...FIELD_BY_KEY.keys(), ...Object.keys(SECTIONS)];
  const leaf = path.at(-1)!;
  const guess = didYouMean(key, candidates) ??
    (inNamespace ? undefined : [...FIELD_BY_KEY.keys()].find((k) => k.endsWith(`.${leaf}`)));
  const what = isSection ? `table [${key}]` : `key ${key}`;
  const fix = guess === undefined
    ? "remove it; docs/configuration.md lists every key"
    : `did you mean ${guess in SECTIONS ? `[${guess}]` : guess}?`;
  layers.problems.push({
    code: "ERR_CONFIG_UNKNOWN_KEY",
    key,
    source,
    message: `Unknown ${what} (from ${source}): ${fix}`,
  });
}

function isTable(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) &&
    !(value instanceof Date);
}
