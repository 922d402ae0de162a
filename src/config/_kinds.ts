/**
 * Validation of one value per field kind, for TOML values and for the text of
 * environment variables and flags. Private to `src/config/`.
 *
 * @module
 */

import type { Field } from "./schema.ts";

/** Outcome of checking one value: the value to use, or what is wrong. */
export type Checked = { ok: true; value: unknown } | { ok: false; hint?: string };

const TRUE_WORDS = new Set(["true", "1", "yes", "on"]);
const FALSE_WORDS = new Set(["false", "0", "no", "off"]);
const INTEGER = /^[+-]?\d+$/;
const HOST_LABEL = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?";
/** A browser extension's origin, e.g. `chrome-extension://abcdefghijklmnop`. */
const EXTENSION_ORIGIN = /^(?:chrome|moz|safari-web)-extension:\/\/[a-z0-9-]+$/;
const ORIGIN = new RegExp(
  `^https?://(?:${HOST_LABEL}(?:\\.${HOST_LABEL})*|\\[[0-9a-f:.]+\\])(?::(?:\\d{1,5}|\\*))?$`,
);

/** What a field accepts, after "must be", e.g. `an integer from 0 to 65535`. */
export function describe(field: Field): string {
  switch (field.kind) {
    case "int":
      return `an integer from ${field.min} to ${field.max}`;
    case "port_or_off":
      return `an integer from ${field.min} to ${field.max} or "off"`;
    case "bool":
      return "true or false";
    case "enum":
      return `one of ${quoteList(field.values ?? [])}`;
    case "enum_list":
      return `a list of ${quoteList(field.values ?? [], ", ")}`;
    case "origin_list":
      return 'a list of origins like "https://app.example.com", "http://localhost:*" or "*"';
    case "url":
      return "an http:// or https:// URL";
    case "pem":
      return 'a PEM public key ("-----BEGIN PUBLIC KEY-----" …)';
    case "path":
      return "a non-empty path";
    case "string":
      return field.minLength ? `a string of at least ${field.minLength} characters` : "a string";
  }
}

/** Short type name for the reference table, e.g. `integer 0–65535`. */
export function typeName(field: Field): string {
  switch (field.kind) {
    case "int":
      return `integer ${field.min}–${field.max}`;
    case "port_or_off":
      return `integer ${field.min}–${field.max} or "off"`;
    case "bool":
      return "boolean";
    case "enum":
      return quoteList(field.values ?? [], " or ");
    case "enum_list":
      return "list of algorithms";
    case "origin_list":
      return "list of origins";
    case "url":
      return "URL";
    case "pem":
      return "PEM string";
    case "path":
      return "path";
    case "string":
      return field.minLength ? `string (${field.minLength}+ chars)` : "string";
  }
}

/** Checks a value parsed from TOML (or converted by {@link checkText}). */
export function checkValue(field: Field, value: unknown): Checked {
  switch (field.kind) {
    case "int":
      return checkInt(field, value);
    case "port_or_off":
      return value === "off" ? { ok: true, value } : checkInt(field, value);
    case "bool":
      if (typeof value === "boolean") return { ok: true, value };
      return { ok: false, hint: unquoteHint(value, ["true", "false"]) };
    case "enum":
      return checkEnum(field, value);
    case "enum_list":
    case "origin_list":
      return checkList(field, value);
    case "url":
      return checkUrl(value);
    case "pem":
      return typeof value === "string" && /-----BEGIN [A-Z0-9 ]+-----/.test(value) &&
          /-----END [A-Z0-9 ]+-----/.test(value)
        ? { ok: true, value }
        : { ok: false };
    case "path":
    case "string":
      if (typeof value !== "string" || value.trim() === "") return { ok: false };
      if (field.minLength && value.length < field.minLength) {
        return { ok: false, hint: "generate one with `openssl rand -base64 32`" };
      }
      return { ok: true, value };
  }
}

/**
 * Checks the text of an environment variable or flag: converts it to the
 * field's type, then applies {@link checkValue}. Lists are comma-separated;
 * an empty text unsets an optional field and empties a list.
 */
export function checkText(field: Field, text: string): Checked {
  const trimmed = text.trim();
  switch (field.kind) {
    case "int":
      return checkValue(field, INTEGER.test(trimmed) ? Number(trimmed) : text);
    case "port_or_off":
      if (trimmed.toLowerCase() === "off") return { ok: true, value: "off" };
      return checkValue(field, INTEGER.test(trimmed) ? Number(trimmed) : text);
    case "bool": {
      const word = trimmed.toLowerCase();
      if (TRUE_WORDS.has(word)) return { ok: true, value: true };
      if (FALSE_WORDS.has(word)) return { ok: true, value: false };
      return { ok: false, hint: "use true, false, 1, 0, yes, no, on or off" };
    }
    case "enum_list":
    case "origin_list":
      return checkValue(
        field,
        trimmed === "" ? [] : trimmed.split(",").map((item) => item.trim()),
      );
    default:
      if (trimmed === "" && field.default === undefined) return { ok: true, value: undefined };
      return checkValue(field, text);
  }
}

/** A value as it appears in a message: strings quoted, secrets hidden. */
export function show(field: Field | undefined, value: unknown): string {
  if (field?.secret) return "(hidden)";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((item) => show(undefined, item)).join(", ")}]`;
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === "object") return "(a table)";
  return String(value);
}

/** Text of an environment variable or flag as it appears in a message. */
export function showText(field: Field | undefined, text: string): string {
  if (field?.secret) return "(hidden)";
  return /^[+-]?[\d.]+$/.test(text) ? text : JSON.stringify(text);
}

function checkInt(field: Field, value: unknown): Checked {
  if (typeof value === "number" && Number.isInteger(value)) {
    const inRange = value >= (field.min ?? -Infinity) && value <= (field.max ?? Infinity);
    return inRange ? { ok: true, value } : { ok: false };
  }
  if (typeof value === "string" && INTEGER.test(value.trim())) {
    return { ok: false, hint: "write the number without quotes" };
  }
  return { ok: false };
}

function checkEnum(field: Field, value: unknown): Checked {
  const values = field.values ?? [];
  if (typeof value === "string" && values.includes(value)) return { ok: true, value };
  if (typeof value === "string") {
    const match = values.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
    if (match) return { ok: false, hint: `did you mean "${match}"?` };
  }
  return { ok: false };
}

function checkList(field: Field, value: unknown): Checked {
  if (!Array.isArray(value)) {
    return typeof value === "string"
      ? { ok: false, hint: `write a list: [${show(undefined, value)}]` }
      : { ok: false };
  }
  const items: string[] = [];
  for (const item of value) {
    const normal = field.kind === "origin_list" && typeof item === "string"
      ? item.toLowerCase()
      : item;
    const good = typeof normal === "string" &&
      (field.kind === "origin_list"
        ? normal === "*" || ORIGIN.test(normal) || EXTENSION_ORIGIN.test(normal)
        : (field.values ?? []).includes(normal));
    if (!good) {
      return { ok: false, hint: `${show(undefined, item)} is not allowed${itemHint(field, item)}` };
    }
    if (!items.includes(normal)) items.push(normal);
  }
  return { ok: true, value: items };
}

function itemHint(field: Field, item: unknown): string {
  if (typeof item !== "string") return "";
  if (field.kind === "enum_list") {
    const match = field.values?.find((value) => value.toLowerCase() === item.toLowerCase());
    return match ? `: did you mean "${match}"?` : "";
  }
  if (/^https?:\/\/[^/]+\/.*$/i.test(item)) {
    return ": an origin has no path, drop the trailing part";
  }
  if (!/^[a-z]+:\/\//i.test(item) && item !== "*") return ": add the scheme, e.g. https://";
  return "";
}

function checkUrl(value: unknown): Checked {
  if (typeof value !== "string") return { ok: false };
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:"
      ? { ok: true, value }
      : { ok: false };
  } catch {
    return { ok: false };
  }
}

function unquoteHint(value: unknown, words: readonly string[]): string | undefined {
  return typeof value === "string" && words.includes(value.trim().toLowerCase())
    ? "write it without quotes"
    : undefined;
}

function quoteList(values: readonly string[], last = " or "): string {
  const quoted = values.map((value) => `"${value}"`);
  return quoted.length < 2
    ? quoted.join("")
    : `${quoted.slice(0, -1).join(", ")}${last}${quoted.at(-1)}`;
}
