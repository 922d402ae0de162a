/**
 * Who may read or write a document, from the `docs` claim of a token.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { DocAccess } from "./types.ts";

/**
 * What the token's claims grant on `doc`.
 *
 * The `docs` claim maps a document name, or a prefix ending in `*`, to `"rw"`
 * or `"r"`: `{"docs": {"notes/alice": "rw", "team/*": "r"}}`. An exact name
 * wins over every prefix; among prefixes the longest wins (`"*"` alone matches
 * every document). No match, no `docs` claim, or a malformed one (not an
 * object, or any value other than `"rw"`/`"r"`) gives `"none"`: a claim that
 * cannot be read grants nothing, not even its well-formed entries.
 *
 * `claims === undefined` means the client is anonymous (no token): it gets
 * `anonymous` (`sync.anonymous`).
 *
 * @example
 * ```ts
 * import { docAccess } from "./access.ts";
 * const claims = { docs: { "notes/alice": "rw", "team/*": "r" } };
 * docAccess(claims, "team/plan", "none"); // "r"
 * docAccess(claims, "notes/bob", "none"); // "none"
 * docAccess(undefined, "notes/bob", "rw"); // "rw"
 * ```
 */
export function docAccess(
  claims: Readonly<Record<string, unknown>> | undefined,
  doc: string,
  anonymous: DocAccess,
): DocAccess {
  if (claims === undefined) return anonymous;
  const docs = claims.docs;
  if (typeof docs !== "object" || docs === null || Array.isArray(docs)) return "none";
  let best: DocAccess = "none";
  let bestPrefix = -1;
  for (const [pattern, grant] of Object.entries(docs)) {
    if (grant !== "rw" && grant !== "r") return "none";
    if (pattern === doc) {
      // Keep scanning: a malformed value later in the claim still voids it.
      best = grant;
      bestPrefix = Infinity;
    } else if (pattern.endsWith("*")) {
      const prefix = pattern.slice(0, -1);
      if (prefix.length > bestPrefix && doc.startsWith(prefix)) {
        best = grant;
        bestPrefix = prefix.length;
      }
    }
  }
  return best;
}
