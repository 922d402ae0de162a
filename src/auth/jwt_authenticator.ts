/**
 * The JWT `Authenticator`: HS256/384/512 with a shared secret, RS/PS/ES/EdDSA
 * with a PEM public key or a remote JWKS, built on `npm:jose`.
 *
 * @module
 */

import {
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
export async function createAuthenticator(opts: AuthOptions): Promise<Authenticator> {
  const tolerance = opts.clockToleranceSec ?? 5;
  if (typeof tolerance !== "number" || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new Error("auth.clock_tolerance_sec must be a number of seconds, 0 or more (default 5)");
  }
  for (const key of ["audience", "issuer"] as const) {
    if (opts[key] !== undefined && (typeof opts[key] !== "string" || opts[key] === "")) {
      throw new Error(`auth.${key} must be a non-empty string, or left out to skip the check`);
    }
  }
  return new JwtAuthenticator(opts, await resolveKeys(opts), tolerance);
}

/** Verifies JWTs with the keys resolved from `AuthOptions`. Build it with `createAuthenticator`. */
class JwtAuthenticator implements Authenticator {
  readonly #anonymous: boolean;
  readonly #keys: ResolvedKeys;
  readonly #verifyOptions: JWTVerifyOptions;

  constructor(opts: AuthOptions, keys: ResolvedKeys, clockToleranceSec: number) {
    this.#anonymous = opts.anonymous === true;
    this.#keys = keys;
    this.#verifyOptions = {
      algorithms: keys.algorithms,
      audience: opts.audience,
      issuer: opts.issuer,
      clockTolerance: clockToleranceSec,
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
    try {
      return (await jwtVerify(token, this.#getKey, this.#verifyOptions)).payload;
    } catch (err) {
      if (err instanceof errors.JWKSMultipleMatchingKeys) return await this.#verifyEach(token, err);
      throw this.#translate(err, header);
    }
  }

  /** Several JWKS keys fit a token without `kid`: the first whose signature verifies wins. */
  async #verifyEach(
    token: string,
    candidates: AsyncIterable<CryptoKey>,
  ): Promise<JWTPayload> {
    for await (const key of candidates) {
      try {
        return (await jwtVerify(token, key, this.#verifyOptions)).payload;
      } catch (err) {
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw this.#translate(err, {});
      }
    }
    throw unauthorized("signature verification failed");
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

function unauthorized(reason: string): SwitchyardError {
  return new SwitchyardError("ERR_UNAUTHORIZED", `Invalid token: ${reason}`);
}

function expiry(claims: JWTPayload): { expiresAt?: number } {
  return typeof claims.exp === "number" ? { expiresAt: claims.exp * 1000 } : {};
}
