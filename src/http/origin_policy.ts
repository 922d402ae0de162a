/**
 * Which page origins may open WebSocket and SSE connections (`allowed_origins`).
 *
 * @module
 */

/** Thrown for an `allowed_origins` entry that is not an origin. */
export class OriginPatternError extends Error {
  /** Stable code for this error. */
  readonly code = "ERR_BAD_ORIGIN_PATTERN";
  /** An error with a message that names the entry and the fix. */
  constructor(message: string) {
    super(message);
    this.name = "OriginPatternError";
  }
}

interface Pattern {
  scheme: string;
  hostname: string;
  /** Normalized port ("" for the scheme's default), or `*` for any. */
  port: string;
}

const DEFAULT_PORTS: Record<string, string> = {
  "http:": "80",
  "https:": "443",
  "ws:": "80",
  "wss:": "443",
};

/**
 * Decides whether a request's `Origin` may connect.
 *
 * - No entries: only pages on the request's own host (the hostname of its
 *   `Host` header), on any port and scheme.
 * - `*`: any origin, including `null`.
 * - An exact origin: `https://app.example.com`, `http://localhost:5173`.
 * - A port wildcard: `http://localhost:*` (any port, that scheme and host).
 *
 * A request without an `Origin` header is allowed: browsers always send one
 * for WebSocket and cross-origin requests, so its absence means a same-origin
 * request or a client that is not a browser.
 *
 * @example
 * ```ts
 * import { OriginPolicy } from "./mod.ts";
 * const policy = new OriginPolicy(["http://localhost:*", "https://app.example.com"]);
 * policy.allows("http://localhost:5173", "localhost:4433"); // true
 * policy.allows("https://evil.example", "localhost:4433"); // false
 * ```
 */
export class OriginPolicy {
  readonly #any: boolean;
  readonly #patterns: Pattern[];

  /**
   * A policy for `allowed_origins` entries.
   *
   * @throws {OriginPatternError} for an entry that is not `*`, an origin or a port wildcard.
   */
  constructor(allowed: readonly string[]) {
    this.#any = allowed.includes("*");
    this.#patterns = allowed.filter((e) => e !== "*").map(parsePattern);
  }

  /** Whether `origin` (the `Origin` header, or null) may connect to a request for `host` (`Host`). */
  allows(origin: string | null, host: string | null): boolean {
    if (origin === null || this.#any) return true;
    const o = parseOrigin(origin);
    if (!o) return false;
    if (this.#patterns.length === 0) {
      return host !== null && o.hostname === hostnameOf(host);
    }
    return this.#patterns.some((p) =>
      p.scheme === o.scheme && p.hostname === o.hostname && (p.port === "*" || p.port === o.port)
    );
  }
}

/** The hostname of a `Host` header value (`example.com:4433` → `example.com`, `[::1]:80` → `[::1]`). */
export function hostnameOf(host: string): string | undefined {
  try {
    return new URL(`http://${host}`).hostname;
  } catch {
    return undefined;
  }
}

/**
 * Browser extension origins (`chrome-extension://<id>`): URL parsing gives them an opaque
 * origin, so they are matched as scheme + id.
 */
const EXTENSION_ORIGIN = /^((?:chrome|moz|safari-web)-extension:)\/\/([a-z0-9-]+)$/i;

function extensionOrigin(text: string): Pattern | undefined {
  const m = EXTENSION_ORIGIN.exec(text);
  return m ? { scheme: m[1].toLowerCase(), hostname: m[2].toLowerCase(), port: "" } : undefined;
}

function parseOrigin(origin: string): Pattern | undefined {
  if (origin === "null") return undefined;
  const extension = extensionOrigin(origin);
  if (extension) return extension;
  try {
    const url = new URL(origin);
    if (url.origin === "null") return undefined;
    return { scheme: url.protocol, hostname: url.hostname, port: normalPort(url) };
  } catch {
    return undefined;
  }
}

function parsePattern(entry: string): Pattern {
  const fix = 'use "*", an origin like "https://app.example.com", or "http://localhost:*"';
  const extension = extensionOrigin(entry);
  if (extension) return extension;
  const wildcard = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]+):\*$/i.exec(entry);
  let url: URL;
  try {
    url = new URL(wildcard ? wildcard[1] : entry);
  } catch {
    throw new OriginPatternError(`Invalid allowed_origins entry "${entry}": ${fix}`);
  }
  const rest = url.pathname + url.search + url.hash;
  if (url.origin === "null" || (rest !== "" && rest !== "/") || url.username || url.password) {
    throw new OriginPatternError(`Invalid allowed_origins entry "${entry}": ${fix}`);
  }
  if (wildcard && url.port !== "") {
    throw new OriginPatternError(`Invalid allowed_origins entry "${entry}": two ports; ${fix}`);
  }
  return { scheme: url.protocol, hostname: url.hostname, port: wildcard ? "*" : normalPort(url) };
}

function normalPort(url: URL): string {
  return url.port === "" ? (DEFAULT_PORTS[url.protocol] ?? "") : url.port;
}
