/**
 * Expands a session's command template into an argv. No shell is involved: the template is
 * split into words first and the values are substituted inside each word afterwards, so a
 * value (a directory with spaces, say) can never add, split or quote an argument.
 *
 * @module
 */
import { GatewayError, SESSION_ID_PATTERN } from "./_gateway_error.ts";

/** Values substituted for `{id}`, `{port}` and `{dir}`. */
export interface TemplateVars {
  /** Session id; must match {@linkcode SESSION_ID_PATTERN}. */
  id: string;
  /** TCP port the process must listen on (1–65535). */
  port: number;
  /** The session's working directory. */
  dir: string;
}

/** Throws `ERR_BAD_SESSION_ID` unless `id` matches {@linkcode SESSION_ID_PATTERN}. */
export function assertSessionId(id: string): void {
  if (!SESSION_ID_PATTERN.test(id)) {
    throw new GatewayError(
      "ERR_BAD_SESSION_ID",
      `Invalid session id ${JSON.stringify(id)}: use 1 to 63 letters, digits and dashes, ` +
        "starting with a letter or digit",
    );
  }
}

/**
 * Substitutes `{id}`, `{port}` and `{dir}` in a command template. A string template is first
 * split into words on whitespace; `'single'` and `"double"` quotes group words (a backslash
 * escapes `"` and `\` inside double quotes and any character outside quotes). An array
 * template is taken word for word. Any other `{name}` is an error, so a typo such as
 * `{prot}` is caught before anything runs.
 *
 * @example
 * ```ts
 * import { expandTemplate } from "./supervisor.ts";
 * expandTemplate("npx vite --port {port} --base /session/{id}/", { id: "a", port: 4100, dir: "/w" });
 * // ["npx", "vite", "--port", "4100", "--base", "/session/a/"]
 * ```
 */
export function expandTemplate(template: string | readonly string[], vars: TemplateVars): string[] {
  assertSessionId(vars.id);
  if (!Number.isInteger(vars.port) || vars.port < 1 || vars.port > 65535) {
    throw new GatewayError("ERR_BAD_TEMPLATE", `Invalid port ${vars.port}: use 1 to 65535`);
  }
  const words = typeof template === "string" ? splitWords(template) : [...template];
  if (words.length === 0 || words[0] === "") {
    throw new GatewayError("ERR_BAD_TEMPLATE", "Empty command template: name a program to run");
  }
  const values: Record<string, string> = { id: vars.id, port: String(vars.port), dir: vars.dir };
  return words.map((word) =>
    word.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      if (!Object.hasOwn(values, name)) {
        throw new GatewayError(
          "ERR_BAD_TEMPLATE",
          `Unknown placeholder {${name}} in command template: use {id}, {port} or {dir}`,
        );
      }
      return values[name];
    })
  );
}

function splitWords(template: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && (template[i + 1] === '"' || template[i + 1] === "\\")) {
        word += template[++i];
      } else word += c;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      inWord = true;
      if (c === "'" || c === '"') quote = c;
      else if (c === "\\" && i + 1 < template.length) word += template[++i];
      else word += c;
    }
  }
  if (quote) {
    throw new GatewayError(
      "ERR_BAD_TEMPLATE",
      `Unterminated ${quote} quote in command template: close it or use an array of arguments`,
    );
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * Parses `gateway.env`: `NAME=value` words, split and quoted like a command template
 * (`A=1 B="two words" C={id}`). Values stay templates. Throws `ERR_BAD_TEMPLATE` for a word
 * without `=` or with a name that is not a variable name.
 */
export function parseEnvTemplate(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const word of splitWords(text)) {
    const eq = word.indexOf("=");
    const name = eq > 0 ? word.slice(0, eq) : "";
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new GatewayError(
        "ERR_BAD_TEMPLATE",
        `Invalid environment entry ${
          JSON.stringify(word)
        }: use NAME=value, e.g. NODE_ENV=development`,
      );
    }
    env[name] = word.slice(eq + 1);
  }
  return env;
}
