/**
 * Connection and subscription tokens: JWT with HS256/384/512, RS/PS/ES256…
 * and EdDSA, from a shared secret, a PEM public key or a remote JWKS.
 *
 * @example
 * ```ts
 * import { createAuthenticator, signToken } from "./mod.ts";
 * const secret = "a-secret-of-at-least-32-bytes-long!!";
 * const auth = await createAuthenticator({ anonymous: true, hmacSecret: secret });
 * await auth.connect(undefined); // { user: "", channels: [] }
 * const token = await signToken({ sub: "bob", channel: "docs:42" }, { secret, alg: "HS256" });
 * await auth.subscribe(token, "docs:42", "bob");
 * ```
 *
 * @module
 */

export type {
  Authenticator,
  AuthOptions,
  Credentials,
  SubscriptionGrant,
} from "./authenticator.ts";
export { createAuthenticator } from "./jwt_authenticator.ts";
export { signToken, type SignTokenOptions } from "./sign_token.ts";
