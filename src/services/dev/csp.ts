/**
 * The `Content-Security-Policy` of pages `switchyard dev` serves.
 *
 * By default a policy that blocks plugins, `<base>` hijacking and framing by
 * other origins, and restricts nothing a page loads or runs: a dev server must
 * not break a page that works in production. With `--csp` the page's own
 * production policy is served instead, so it can be tried out during
 * development, with exactly what the injected client needs added to it: its
 * script URL, and connections to the page's origin and to WebTransport's port.
 * (A `script-src` with `'strict-dynamic'` ignores URLs, so such a policy blocks
 * the client; docs/dev-server.md says so.)
 *
 * This module is pure: no Deno API.
 *
 * @module
 */

/** The policy when `--csp` is not given. */
export const DEFAULT_DEV_CSP = "object-src 'none'; base-uri 'self'; frame-ancestors 'self'";

/** What the injected client loads and connects to, for one request. */
export interface ClientNeeds {
  /** The page's origin as the browser sees it, e.g. `http://localhost:4433`. */
  origin: string;
  /** Path of the injected script, e.g. `/switchyard/dev.js`. */
  scriptPath: string;
  /** UDP port of WebTransport, if it is on. */
  quicPort?: number;
}

/**
 * `policy` (or {@linkcode DEFAULT_DEV_CSP}) with the client's needs added to the directives that
 * govern scripts and connections. A directive the policy leaves to `default-src` is written out
 * with `default-src`'s sources plus the client's; one that is unrestricted stays so.
 *
 * @example
 * ```ts
 * import { devCsp } from "./csp.ts";
 * devCsp("default-src 'self'", {
 *   origin: "http://localhost:4433",
 *   scriptPath: "/switchyard/dev.js",
 *   quicPort: 4433,
 * });
 * // "default-src 'self'; script-src 'self' http://localhost:4433/switchyard/dev.js;
 * //  connect-src 'self' http://localhost:4433 ws://localhost:4433 https://*:4433"
 * ```
 */
export function devCsp(policy: string | undefined, needs: ClientNeeds): string {
  if (policy === undefined) return DEFAULT_DEV_CSP;
  const directives = parsePolicy(policy);
  const ws = needs.origin.replace(/^http/, "ws");
  const connect = [needs.origin, ws];
  if (needs.quicPort !== undefined) connect.push(`https://*:${needs.quicPort}`);
  const script = [`${needs.origin}${needs.scriptPath}`];
  allow(directives, "script-src", script);
  if (directives.has("script-src-elem")) allow(directives, "script-src-elem", script);
  allow(directives, "connect-src", connect);
  return [...directives].map(([name, list]) => [name, ...list].join(" ")).join("; ");
}

/** Directive name (lower case) → sources, in order; the first of a repeated directive wins. */
export function parsePolicy(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of policy.split(";")) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (!name) continue;
    const key = name.toLowerCase();
    if (!directives.has(key)) directives.set(key, sources);
  }
  return directives;
}

function allow(directives: Map<string, string[]>, name: string, extra: readonly string[]): void {
  const inherited = directives.get(name) ?? directives.get("default-src");
  if (inherited === undefined) return; // unrestricted
  // 'none' cannot be combined with a source: the client's sources replace it.
  const kept = inherited.filter((s) => s.toLowerCase() !== "'none'");
  directives.set(name, [...kept, ...extra.filter((s) => !kept.includes(s))]);
}
