/**
 * Signs JWTs the way an application backend would: for tests, examples and
 * `switchyard` dev tooling. Production backends use their own JWT library.
 *
 * @module
 */

import { importPKCS8, SignJWT } from "jose";

/** How `signToken` signs. Give exactly one of `secret` and `privateKey`. */
export interface SignTokenOptions {
  /** JWS alg, e.g. `"HS256"`, `"RS256"`, `"ES256"`, `"EdDSA"`. */
  alg: string;
  /** HMAC secret (UTF-8) for HS256/HS384/HS512. */
  secret?: string;
  /** Private key: a PKCS#8 PEM (`BEGIN PRIVATE KEY`) or a `CryptoKey`. */
  privateKey?: string | CryptoKey;
  /**
   * Lifetime: seconds from now (negative gives an already expired token) or
   * a jose time span such as `"2h"`. Default: no `exp` unless `claims` has one.
   */
  expiresIn?: number | string;
  /** Key id put in the header, to pick a key out of a JWKS. */
  kid?: string;
}

/**
 * Sign `claims` as a compact JWT. Sets `iat` unless `claims` has one.
 *
 * @example
 * ```ts
 * import { signToken } from "./mod.ts";
 * const token = await signToken(
 *   { sub: "alice", channels: ["news:sport"], info: { name: "Alice" } },
 *   { secret: "a-secret-of-at-least-32-bytes-long!!", alg: "HS256", expiresIn: "1h" },
 * );
 * ```
 */
export async function signToken(
  claims: Record<string, unknown>,
  opts: SignTokenOptions,
): Promise<string> {
  if ((opts.secret === undefined) === (opts.privateKey === undefined)) {
    throw new TypeError("signToken needs exactly one of `secret` and `privateKey`");
  }
  const key = opts.secret !== undefined
    ? new TextEncoder().encode(opts.secret)
    : typeof opts.privateKey === "string"
    ? await importPKCS8(opts.privateKey, opts.alg)
    : opts.privateKey as CryptoKey;
  const jwt = new SignJWT(claims).setProtectedHeader({
    alg: opts.alg,
    typ: "JWT",
    ...(opts.kid === undefined ? {} : { kid: opts.kid }),
  });
  if (claims.iat === undefined) jwt.setIssuedAt();
  if (typeof opts.expiresIn === "number") {
    jwt.setExpirationTime(Math.floor(Date.now() / 1000) + opts.expiresIn);
  } else if (opts.expiresIn !== undefined) {
    jwt.setExpirationTime(opts.expiresIn);
  }
  return await jwt.sign(key);
}
