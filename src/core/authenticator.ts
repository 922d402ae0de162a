/**
 * What the hub needs from authentication. `src/auth/` implements it with JWTs.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { SwitchyardError } from "./errors.ts";

/** Who a connection is, from its token (or anonymous). */
export interface Credentials {
  /** User id (`sub` claim); "" for anonymous. */
  user: string;
  /** Token expiry, ms since epoch. */
  expiresAt?: number;
  /** Channels this user may subscribe to without a subscription token. */
  channels: string[];
  /** Application data attached to the user, shared with presence and publications. */
  info?: unknown;
  /**
   * The token's other claims, for services that grant by claim (document sync reads `docs`).
   * Never sent to clients.
   */
  claims?: Readonly<Record<string, unknown>>;
}

/**
 * Verifies tokens. Both methods reject with a `SwitchyardError`:
 * `ERR_UNAUTHORIZED` (bad token), `ERR_TOKEN_EXPIRED`, `ERR_FORBIDDEN`
 * (subscription token for another channel or user) or `ERR_UNAVAILABLE` (a
 * key server is down).
 */
export interface Authenticator {
  connect(token: string | undefined): Promise<Credentials>;
  subscribe(
    token: string,
    channel: string,
    user: string,
  ): Promise<{ expiresAt?: number; info?: unknown }>;
}

/** An authenticator that lets everybody in anonymously and refuses subscription tokens. */
export const ANONYMOUS: Authenticator = {
  connect: () => Promise.resolve({ user: "", channels: [] }),
  subscribe: () =>
    Promise.reject(
      new SwitchyardError("ERR_FORBIDDEN", "Subscription tokens need an [auth] key configured"),
    ),
};
