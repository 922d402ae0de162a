/**
 * The contract between the hub and whatever checks connection and
 * subscription tokens.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * How tokens are checked. Mirrors the `[auth]` section of `switchyard.toml`
 * (`auth.hmac_secret`, `auth.public_key`, `auth.jwks_url`, …).
 *
 * Several key sources may be configured at once: a token whose `alg` is
 * HS256/HS384/HS512 is checked with `hmacSecret`; any other alg with
 * `publicKey`, or with the JWKS when `jwksUrl` is set and the token names a
 * `kid` (falling back to `publicKey` when no JWKS key matches).
 */
export interface AuthOptions {
  /** Allow connecting without a token; such a client is the user `""`. */
  anonymous: boolean;
  /** Shared secret (UTF-8, at least 32 bytes) for HS256, HS384 and HS512. */
  hmacSecret?: string;
  /** PEM public key (SPKI, `BEGIN PUBLIC KEY`): RSA ≥ 2048 bits, EC P-256/384/521 or Ed25519. */
  publicKey?: string;
  /** URL of a JSON Web Key Set (https, or http on loopback); fetched lazily and cached. */
  jwksUrl?: string;
  /** Allowed `alg` values; default: every alg the configured keys can verify. `none` is never allowed. */
  algorithms?: string[];
  /** Required `aud` claim (one of the token's audiences must match). */
  audience?: string;
  /** Required `iss` claim. */
  issuer?: string;
  /** Leeway for `exp`, `nbf` and `iat`, in seconds. Default 5. */
  clockToleranceSec?: number;
  /** Fetch the JWKS again for an unknown `kid` at most this often, in seconds. Default 30. */
  jwksCooldownSec?: number;
  /** Refetch the JWKS when it is older than this, in seconds. Default 600. */
  jwksCacheMaxAgeSec?: number;
  /** Give up on a JWKS request after this many seconds. Default 5. */
  jwksTimeoutSec?: number;
}

/** Who a verified connection token says the client is. */
export interface Credentials {
  /** The `sub` claim; `""` for an anonymous client. */
  user: string;
  /** When the token expires (`exp` claim), in milliseconds since the epoch; `undefined`: never. */
  expiresAt?: number;
  /** Channels (the `channels` claim) the client may subscribe to with no further check. */
  channels: string[];
  /** The `info` claim, passed through untouched to presence and join events. */
  info?: unknown;
  /** Every claim of the token, for services that grant by their own claim (sync reads `docs`). */
  claims?: Readonly<Record<string, unknown>>;
}

/** What a verified subscription token grants beyond the subscription itself. */
export interface SubscriptionGrant {
  /** When the subscription token expires, in milliseconds since the epoch; `undefined`: never. */
  expiresAt?: number;
  /** The token's `info` claim, for this channel only. */
  info?: unknown;
}

/**
 * Checks the tokens a client presents.
 *
 * Rules every implementation keeps:
 * - Failures are `SwitchyardError`s: `ERR_UNAUTHORIZED` for a missing,
 *   malformed, wrongly signed or refused token; `ERR_TOKEN_EXPIRED` for an
 *   expired one; `ERR_FORBIDDEN` for a valid subscription token that names
 *   another channel or user; `ERR_UNAVAILABLE` when a key source (JWKS) cannot
 *   be reached, so the client retries instead of giving up.
 * - A connection token never carries a `channel` claim, so a subscription
 *   token cannot be replayed as a connection token.
 * - Methods never mutate shared state visible to callers; they are safe to
 *   call concurrently.
 */
export interface Authenticator {
  /**
   * Verify a connection token. `undefined` (or `""`) gives anonymous
   * credentials when `anonymous` is allowed, `ERR_UNAUTHORIZED` otherwise.
   */
  connect(token: string | undefined): Promise<Credentials>;
  /**
   * Verify a subscription token for a private channel: its `channel` claim
   * must name `channel` and its `sub` claim must be `user`.
   */
  subscribe(token: string, channel: string, user: string): Promise<SubscriptionGrant>;
}
