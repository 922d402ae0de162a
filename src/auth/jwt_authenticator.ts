/**
 * The JWT `Authenticator`: HS256/384/512 with a shared secret, RS/PS/ES/EdDSA
 * with a PEM public key or a remote JWKS, built on `npm:jose`.
 *
 * @module
 */

import {
  base64url,
  decodeProtectedHeader,
  errors,
  type JWTHeaderParameters,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from "jose";
import { SwitchyardError } from "../core/errors.ts";
import type {
  Authenticator,
  AuthOptions,
  Credentials,
  SubscriptionGrant,
} from "./authenticator.ts";
import { HMAC_ALGORITHMS, type ResolvedKeys, resolveKeys } from "./_keys.ts";
import { VerifiedCache } from "./_verified_cache.ts";

/** Settings of the JWT `Authenticator` that are not part of the `[auth]` config. */
export interface JwtAuthenticatorOptions {
  /** The clock for `exp`, `nbf` and the verification cache, in ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/**
 * Build an `Authenticator` from `opts`, importing keys up front. Rejects with
 * a plain `Error` naming the config key (`auth.public_key`, `auth.hmac_secret`,
 * `auth.jwks_url`, `auth.algorithms`, …) and the fix when `opts` is wrong.
 *
 * @example
 * ```ts
 * import { createAuthenticator, signToken } from "./mod.ts";
 * const secret = "a-secret-of-at-least-32-bytes-long!!";
 * const auth = await createAuthenticator({ anonymous: false, hmacSecret: secret });
 * const token = await signToken({ sub: "alice" }, { secret, alg: "HS256", expiresIn: 3600 });
 * const { user } = await auth.connect(token); // "alice"
 * ```
 */
export async function createAuthenticator(
  opts: AuthOptions,
  options: JwtAuthenticatorOptions = {},
): Promise<Authenticator> {
  const tolerance = opts.clockToleranceSec ?? 5;
  if (typeof tolerance !== "number" || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new Error("auth.clock_tolerance_sec must be a number of seconds, 0 or more (default 5)");
  }
  for (const key of ["audience", "issuer"] as const) {
    if (opts[key] !== undefined && (typeof opts[key] !== "string" || opts[key] === "")) {
      throw new Error(`auth.${key} must be a non-empty string, or left out to skip the check`);
    }
  }
  return new JwtAuthenticator(opts, await resolveKeys(opts), {
    clockToleranceSec: tolerance,
    now: options.now ?? Date.now,
  });
}

/** Whatever a jose key resolver returns: a `CryptoKey`, raw HMAC secret bytes, … */
type VerificationKey = Awaited<ReturnType<JWTVerifyGetKey>>;

/**
 * What a successful verification leaves in the cache. The payload is kept as
 * the exact JSON text jose parsed, so every hit hands out a fresh copy that
 * callers may change as freely as an uncached result.
 */
interface Verified {
  header: JWTHeaderParameters;
  /** The key the signature verified with; a hit is served only while the token still resolves to it. */
  key: VerificationKey;
  payloadJson: string;
  nbf?: number;
  exp?: number;
}

/** Verifies JWTs with the keys resolved from `AuthOptions`. Build it with `createAuthenticator`. */
class JwtAuthenticator implements Authenticator {
  readonly #anonymous: boolean;
  readonly #keys: ResolvedKeys;
  readonly #verifyOptions: JWTVerifyOptions;
  readonly #toleranceSec: number;
  readonly #now: () => number;
  /**
   * Successful verifications by token, so the gateway's session cookie, sent
   * with every proxied request, costs a signature check once a minute instead
   * of every time. A hit still re-checks `exp` and `nbf` against the current
   * clock, and still asks the key source for the token's key: it is served
   * only if that is the very key the signature verified with, so a key
   * dropped from the JWKS is refused on the same request it would be without
   * the cache (once the JWKS copy is refreshed: `jwksCacheMaxAgeSec`, 10 minutes by default).
   * The 60 s age limit bounds anything else a cached answer could miss; the
   * trade-off is that a result is reused for up to 60 s without re-checking
   * the signature. Failures are never stored, so only tokens that verified
   * take space (1,000 at most, none longer than 8 KiB).
   */
  readonly #cache = new VerifiedCache<Verified>({
    maxEntries: 1_000,
    maxAgeMs: 60_000,
    maxKeyLength: 8_192,
  });

  constructor(
    opts: AuthOptions,
    keys: ResolvedKeys,
    settings: { clockToleranceSec: number; now: () => number },
  ) {
    this.#anonymous = opts.anonymous === true;
    this.#keys = keys;
    this.#toleranceSec = settings.clockToleranceSec;
    this.#now = settings.now;
    this.#verifyOptions = {
      algorithms: keys.algorithms,
      audience: opts.audience,
      issuer: opts.issuer,
      clockTolerance: settings.clockToleranceSec,
    };
  }

  async connect(token: string | undefined): Promise<Credentials> {
    if (token === undefined || token === null || token === "") {
      if (this.#anonymous) return { user: "", channels: [] };
      throw new SwitchyardError(
        "ERR_UNAUTHORIZED",
        "Connection token required: this server does not allow anonymous clients; " +
          "pass a JWT signed with the server's key",
      );
    }
    const claims = await this.#verify(token);
    if (claims.channel !== undefined) {
      throw unauthorized(
        'it is a subscription token (it has a "channel" claim): use a connection token to connect',
      );
    }
    if (typeof claims.sub !== "string") {
      throw unauthorized('claim "sub" (the user id) must be a string');
    }
    const channels = claims.channels ?? [];
    if (!Array.isArray(channels) || !channels.every((c) => typeof c === "string")) {
      throw unauthorized('claim "channels" must be an array of channel names');
    }
    return {
      user: claims.sub,
      channels: [...channels],
      ...expiry(claims),
      ...("info" in claims ? { info: claims.info } : {}),
      claims: { ...claims },
    };
  }

  async subscribe(token: string, channel: string, user: string): Promise<SubscriptionGrant> {
    if (typeof token !== "string" || token === "") {
      throw new SwitchyardError(
        "ERR_UNAUTHORIZED",
        `Subscription token required: "${channel}" is a private channel`,
      );
    }
    const claims = await this.#verify(token);
    if (typeof claims.channel !== "string") {
      throw new SwitchyardError(
        "ERR_FORBIDDEN",
        `Cannot subscribe to "${channel}": the token has no "channel" claim (is it a connection token?)`,
      );
    }
    if (claims.channel !== channel) {
      throw new SwitchyardError(
        "ERR_FORBIDDEN",
        `Cannot subscribe to "${channel}": the token is for channel "${claims.channel}"`,
      );
    }
    if (claims.sub !== user) {
      throw new SwitchyardError(
        "ERR_FORBIDDEN",
        `Cannot subscribe to "${channel}": the token is for user ${
          JSON.stringify(claims.sub ?? null)
        }, not "${user}"`,
      );
    }
    return { ...expiry(claims), ...("info" in claims ? { info: claims.info } : {}) };
  }

  async #verify(token: string): Promise<JWTPayload> {
    if (typeof token !== "string") throw unauthorized("malformed: a token must be a string");
    const now = this.#now();
    const cached = this.#cache.get(token, now);
    if (cached !== undefined) {
      const payload = await this.#fromCache(token, cached, now);
      if (payload !== undefined) return payload;
    }
    if (this.#keys.algorithms.length === 0) {
      throw unauthorized(
        "this server checks no tokens (no auth.hmac_secret, auth.public_key or auth.jwks_url): " +
          "connect without one",
      );
    }
    let header: JWTHeaderParameters;
    try {
      header = decodeProtectedHeader(token) as JWTHeaderParameters;
    } catch {
      throw unauthorized("malformed: not a JWT (three base64url parts joined by dots)");
    }
    const { alg } = header;
    if (typeof alg !== "string" || alg === "") {
      throw unauthorized('malformed: the header has no "alg"');
    }
    if (alg.toLowerCase() === "none") {
      throw unauthorized('unsecured JWT (alg "none") refused: tokens must be signed');
    }
    if (!this.#keys.algorithms.includes(alg)) {
      throw unauthorized(
        `alg "${alg}" is not allowed (allowed: ${this.#keys.algorithms.join(", ")})`,
      );
    }
    let key: VerificationKey | undefined;
    const getKey: JWTVerifyGetKey = async (h, t) => key = await this.#getKey(h, t);
    try {
      const { payload, protectedHeader } = await jwtVerify(token, getKey, {
        ...this.#verifyOptions,
        currentDate: new Date(now),
      });
      this.#remember(token, protectedHeader, key!, payload, now);
      return payload;
    } catch (err) {
      if (err instanceof errors.JWKSMultipleMatchingKeys) {
        return await this.#verifyEach(token, err, now);
      }
      throw this.#translate(err, header);
    }
  }

  /** Several JWKS keys fit a token without `kid`: the first whose signature verifies wins. */
  async #verifyEach(
    token: string,
    candidates: AsyncIterable<CryptoKey>,
    now: number,
  ): Promise<JWTPayload> {
    for await (const key of candidates) {
      try {
        return (await jwtVerify(token, key, { ...this.#verifyOptions, currentDate: new Date(now) }))
          .payload;
      } catch (err) {
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw this.#translate(err, {});
      }
    }
    throw unauthorized("signature verification failed");
  }

  /**
   * The payload of a cached verification, checked as jose would at `now`; or
   * `undefined` when the token no longer resolves to the key it verified with
   * and must be verified afresh.
   */
  async #fromCache(token: string, cached: Verified, now: number): Promise<JWTPayload | undefined> {
    let key;
    try {
      const [protectedHeader, payload, signature] = token.split(".");
      key = await this.#getKey(cached.header, { protected: protectedHeader, payload, signature });
    } catch (err) {
      this.#cache.delete(token);
      if (err instanceof errors.JWKSMultipleMatchingKeys) return undefined;
      throw this.#translate(err, cached.header);
    }
    if (key !== cached.key) {
      this.#cache.delete(token);
      return undefined;
    }
    const payload = JSON.parse(cached.payloadJson) as JWTPayload;
    // The same tests, in the same order, as jose's validateClaimsSet.
    const seconds = Math.floor(now / 1000);
    if (cached.nbf !== undefined && cached.nbf > seconds + this.#toleranceSec) {
      throw this.#translate(
        new errors.JWTClaimValidationFailed(
          '"nbf" claim timestamp check failed',
          payload,
          "nbf",
          "check_failed",
        ),
        cached.header,
      );
    }
    if (cached.exp !== undefined && cached.exp <= seconds - this.#toleranceSec) {
      this.#cache.delete(token);
      throw this.#translate(
        new errors.JWTExpired('"exp" claim timestamp check failed', payload, "exp", "check_failed"),
        cached.header,
      );
    }
    return payload;
  }

  #remember(
    token: string,
    header: JWTHeaderParameters,
    key: VerificationKey,
    payload: JWTPayload,
    now: number,
  ): void {
    const payloadJson = utf8.decode(base64url.decode(token.split(".")[1]));
    this.#cache.set(token, {
      header,
      key,
      payloadJson,
      ...(typeof payload.nbf === "number" ? { nbf: payload.nbf } : {}),
      ...(typeof payload.exp === "number" ? { exp: payload.exp } : {}),
    }, now);
  }

  #getKey: JWTVerifyGetKey = async (header, token) => {
    const alg = header.alg as string;
    const { hmac, publicKeys, jwks } = this.#keys;
    if (HMAC_ALGORITHMS.includes(alg) && hmac) return hmac;
    const staticKey = publicKeys.get(alg);
    if (jwks && (header.kid !== undefined || !staticKey)) {
      try {
        return await jwks.getKey(header, token);
      } catch (err) {
        if (staticKey && err instanceof errors.JWKSNoMatchingKey) return staticKey;
        throw err;
      }
    }
    if (staticKey) return staticKey;
    throw new errors.JOSEAlgNotAllowed(`no configured key verifies alg "${alg}"`);
  };

  #translate(err: unknown, header: Partial<JWTHeaderParameters>): SwitchyardError {
    if (err instanceof SwitchyardError) return err;
    if (err instanceof errors.JWTExpired) {
      const exp = typeof err.payload.exp === "number"
        ? ` at ${new Date(err.payload.exp * 1000).toISOString()}`
        : "";
      return new SwitchyardError("ERR_TOKEN_EXPIRED", `Token expired${exp}: get a fresh token`);
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      return unauthorized("signature verification failed");
    }
    if (err instanceof errors.JWTClaimValidationFailed) {
      const expected = err.claim === "aud"
        ? ` (expected "${this.#verifyOptions.audience}")`
        : err.claim === "iss"
        ? ` (expected "${this.#verifyOptions.issuer}")`
        : "";
      return unauthorized(`${err.message}${expected}`);
    }
    if (err instanceof errors.JWKSNoMatchingKey) {
      const kid = header.kid === undefined ? "" : ` "${header.kid}"`;
      return unauthorized(`no key in the JWKS at ${this.#keys.jwks?.url} matches its kid${kid}`);
    }
    if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
      return unauthorized(`malformed: ${err.message}`);
    }
    return unauthorized(err instanceof Error ? err.message : String(err));
  }
}

const utf8 = new TextDecoder();

function unauthorized(reason: string): SwitchyardError {
  return new SwitchyardError("ERR_UNAUTHORIZED", `Invalid token: ${reason}`);
}

function expiry(claims: JWTPayload): { expiresAt?: number } {
  return typeof claims.exp === "number" ? { expiresAt: claims.exp * 1000 } : {};
}
