import assert from "node:assert/strict";
import { exportPKCS8 } from "jose";
import { createAuthenticator, signToken } from "./mod.ts";
import { assertConfigError, keyPair, SECRET } from "./_test_util.ts";

/** SPKI PEM of a freshly generated RSA key of `bits` bits (jose refuses to make one under 2048). */
async function rsaPem(bits: number): Promise<string> {
  const { publicKey } = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: bits,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const der = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
  const body = btoa(String.fromCharCode(...der)).replace(/.{64}/g, "$&\n");
  return `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----\n`;
}

/** `pem` with its body cut after the first line, so the DER inside is incomplete. */
function truncated(pem: string): string {
  const lines = pem.trim().split("\n");
  return [lines[0], lines[1], lines.at(-1)].join("\n");
}

Deno.test("createAuthenticator() names auth.public_key when the PEM is unusable", async () => {
  const { privateKey, pem } = await keyPair("ES256");
  await assertConfigError(
    createAuthenticator({ anonymous: false, publicKey: "/etc/switchyard/key.pem" }),
    /^auth\.public_key is not a PEM public key: .*not its path/,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, publicKey: truncated(pem) }),
    /^auth\.public_key could not be parsed: /,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, publicKey: await exportPKCS8(privateKey) }),
    /^auth\.public_key holds a private key: .*-pubout/,
  );
  await assertConfigError(
    createAuthenticator({
      anonymous: false,
      publicKey: "-----BEGIN RSA PUBLIC KEY-----\nMAo=\n-----END RSA PUBLIC KEY-----",
    }),
    /^auth\.public_key is a PKCS#1 RSA key: convert it/,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, publicKey: await rsaPem(1024) }),
    /^auth\.public_key is a 1024-bit RSA key: use at least 2048 bits$/,
  );
});

Deno.test("createAuthenticator() accepts surrounding whitespace in auth.public_key", async () => {
  const { privateKey, pem } = await keyPair("ES256");
  const auth = await createAuthenticator({ anonymous: false, publicKey: `\n  ${pem}\n` });
  const token = await signToken({ sub: "a" }, { privateKey, alg: "ES256" });
  assert.equal((await auth.connect(token)).user, "a");
});

Deno.test("createAuthenticator() names auth.hmac_secret when the secret is too short", async () => {
  await assertConfigError(
    createAuthenticator({ anonymous: false, hmacSecret: "secret" }),
    /^auth\.hmac_secret is 6 bytes, shorter than the 32 .*openssl rand -base64 32/,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, hmacSecret: "" }),
    /^auth\.hmac_secret is 0 bytes/,
  );
});

Deno.test("createAuthenticator() names auth.algorithms when it lists an alg no key verifies", async () => {
  const { pem } = await keyPair("ES256");
  await assertConfigError(
    createAuthenticator({ anonymous: false, hmacSecret: SECRET, algorithms: ["HS256", "RS256"] }),
    /^auth\.algorithms lists "RS256" but no configured key can verify it: set auth\.jwks_url/,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, publicKey: pem, algorithms: ["ES384"] }),
    /^auth\.algorithms lists "ES384"/,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, publicKey: pem, algorithms: ["HS256"] }),
    /^auth\.algorithms lists "HS256" .*set auth\.hmac_secret/,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, hmacSecret: SECRET, algorithms: ["none"] }),
    /^auth\.algorithms must not contain "none"/,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, hmacSecret: SECRET, algorithms: ["HS257"] }),
    /^auth\.algorithms contains unknown alg "HS257": use some of HS256, /,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, hmacSecret: SECRET, algorithms: [] }),
    /^auth\.algorithms must be a non-empty list/,
  );
});

Deno.test("createAuthenticator() names auth.jwks_url when it is not a usable URL", async () => {
  await assertConfigError(
    createAuthenticator({ anonymous: false, jwksUrl: "idp.example.com/jwks.json" }),
    /^auth\.jwks_url "idp\.example\.com\/jwks\.json" is not a URL/,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, jwksUrl: "http://idp.example.com/jwks.json" }),
    /^auth\.jwks_url .* must use https/,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, jwksUrl: "ftp://127.0.0.1/jwks.json" }),
    /^auth\.jwks_url .* must use https/,
  );
  await assertConfigError(
    createAuthenticator({
      anonymous: false,
      jwksUrl: "https://idp.example.com/jwks.json",
      jwksTimeoutSec: -1,
    }),
    /^auth\.jwks_timeout_sec must be a number of seconds/,
  );
  for (const jwksUrl of ["http://127.0.0.1:1/jwks", "http://localhost:1/jwks", "http://[::1]:1/"]) {
    await createAuthenticator({ anonymous: false, jwksUrl });
  }
});

Deno.test("createAuthenticator() refuses a config in which nobody could connect", async () => {
  await assertConfigError(
    createAuthenticator({ anonymous: false }),
    /^auth: no key is configured and auth\.anonymous is false/,
  );
  await createAuthenticator({ anonymous: true });
});

Deno.test("createAuthenticator() validates the remaining auth settings", async () => {
  await assertConfigError(
    createAuthenticator({ anonymous: false, hmacSecret: SECRET, clockToleranceSec: -1 }),
    /^auth\.clock_tolerance_sec must be a number/,
  );
  await assertConfigError(
    createAuthenticator({ anonymous: false, hmacSecret: SECRET, audience: "" }),
    /^auth\.audience must be a non-empty string/,
  );
});
