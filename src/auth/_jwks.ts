/**
 * A remote JSON Web Key Set as a jose key resolver whose failures say whose
 * fault they are: the token's (`JWKSNoMatchingKey`, left to the caller) or the
 * key server's (`ERR_UNAVAILABLE`, so the client retries later).
 *
 * @module
 */

import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from "jose";
import { SwitchyardError } from "../core/errors.ts";

/** Caching and timeout settings of a JWKS key source, in milliseconds. */
export interface JwksKeySourceOptions {
  /** Minimum time between two fetches caused by an unknown `kid`. */
  cooldownMs: number;
  /** Age after which the cached set is fetched again. */
  cacheMaxAgeMs: number;
  /** Time limit of one fetch. */
  timeoutMs: number;
}

/**
 * A key resolver for `jwtVerify` backed by the JWKS at `url`. The set is
 * fetched on first use, cached, and fetched again when stale or when a token
 * names an unknown `kid` (at most once per cooldown, so random `kid`s cannot
 * make the server hammer the key server).
 */
export function createJwksKeySource(url: string, opts: JwksKeySourceOptions): JWTVerifyGetKey {
  const remote = createRemoteJWKSet(new URL(url), {
    cooldownDuration: opts.cooldownMs,
    cacheMaxAge: opts.cacheMaxAgeMs,
    timeoutDuration: opts.timeoutMs,
  });
  return async (header, token) => {
    try {
      return await remote(header, token);
    } catch (err) {
      if (
        err instanceof errors.JWKSNoMatchingKey ||
        err instanceof errors.JWKSMultipleMatchingKeys ||
        err instanceof errors.JOSENotSupported
      ) {
        throw err;
      }
      throw new SwitchyardError(
        "ERR_UNAVAILABLE",
        `Cannot check the token: the JWKS at ${url} is unavailable: ${reason(err, opts.timeoutMs)}`,
      );
    }
  };
}

function reason(err: unknown, timeoutMs: number): string {
  if (err instanceof errors.JWKSTimeout) return `no answer within ${timeoutMs} ms`;
  if (err instanceof errors.JWKSInvalid) return `it is not a valid key set (${err.message})`;
  return err instanceof Error ? err.message : String(err);
}
