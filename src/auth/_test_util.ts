/**
 * Helpers shared by the auth tests.
 *
 * @module
 */

import assert from "node:assert/strict";
import { exportSPKI, generateKeyPair } from "jose";
import { type ErrorCode, SwitchyardError } from "../core/errors.ts";

/** An HMAC secret long enough for `auth.hmac_secret`. */
export const SECRET = "test-secret-that-is-at-least-32-bytes-long";

/** Assert that `promise` rejects with a `SwitchyardError` of `code` whose message matches `message`. */
export async function assertRejectsWith(
  promise: Promise<unknown>,
  code: ErrorCode,
  message?: RegExp,
): Promise<SwitchyardError> {
  const outcome = await promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) assert.fail(`expected ${code}, got ${JSON.stringify(outcome.value)}`);
  const { error } = outcome;
  assert.ok(error instanceof SwitchyardError, `expected a SwitchyardError ${code}, got ${error}`);
  assert.equal(error.code, code, error.message);
  if (message) assert.match(error.message, message);
  return error;
}

/** Assert that `promise` rejects with a plain configuration `Error` whose message matches `message`. */
export async function assertConfigError(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof Error && !(error instanceof SwitchyardError), String(error));
    assert.match(error.message, message);
    return true;
  });
}

/** A fresh key pair for `alg` with its public key as SPKI PEM. */
export async function keyPair(
  alg: string,
): Promise<{ privateKey: CryptoKey; publicKey: CryptoKey; pem: string }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicKey, pem: await exportSPKI(publicKey) };
}

/** Base64url of a JSON value, for hand-made tokens. */
export function b64url(value: unknown): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}
