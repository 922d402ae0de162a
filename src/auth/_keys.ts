/**
 * Turns `AuthOptions` into verification keys and an alg allow-list, throwing
 * a plain `Error` that names the config key and the fix when a value is wrong.
 *
 * @module
 */

import { importSPKI, type JWTVerifyGetKey } from "jose";
import type { AuthOptions } from "./authenticator.ts";
import { createJwksKeySource } from "./_jwks.ts";

/** JWS algs checked with `auth.hmac_secret`. */
export const HMAC_ALGORITHMS: readonly string[] = ["HS256", "HS384", "HS512"];

/** JWS algs checked with `auth.public_key` or the JWKS. */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
  "Ed25519",
];

/** The smallest HMAC secret accepted, in bytes (RFC 7518 §3.2 for HS256). */
export const MIN_HMAC_SECRET_BYTES = 32;

/** Verification material resolved from `AuthOptions`. */
export interface ResolvedKeys {
  /** The HMAC secret, when `auth.hmac_secret` is set. */
  hmac?: Uint8Array;
  /** `auth.public_key` imported once per alg it can verify. */
  publicKeys: Map<string, CryptoKey>;
  /** The JWKS, when `auth.jwks_url` is set. */
  jwks?: { url: string; getKey: JWTVerifyGetKey };
  /** Allowed algs, in a stable order. */
  algorithms: string[];
}

/** Validate `opts` and import its keys. Throws `Error` naming the config key on bad input. */
export async function resolveKeys(opts: AuthOptions): Promise<ResolvedKeys> {
  const hmac = opts.hmacSecret === undefined ? undefined : hmacKey(opts.hmacSecret);
  const publicKeys = opts.publicKey === undefined
    ? new Map<string, CryptoKey>()
    : await importPublicKey(opts.publicKey);
  const url = opts.jwksUrl === undefined ? undefined : jwksUrl(opts.jwksUrl);
  const jwks = url === undefined ? undefined : {
    url,
    getKey: createJwksKeySource(url, {
      cooldownMs: seconds(opts.jwksCooldownSec, 30, "auth.jwks_cooldown_sec") * 1000,
      cacheMaxAgeMs: seconds(opts.jwksCacheMaxAgeSec, 600, "auth.jwks_cache_max_age_sec") * 1000,
      timeoutMs: Math.max(
        1,
        Math.ceil(seconds(opts.jwksTimeoutSec, 5, "auth.jwks_timeout_sec") * 1000),
      ),
    }),
  };

  const supported = new Set<string>([
    ...(hmac ? HMAC_ALGORITHMS : []),
    ...publicKeys.keys(),
    ...(jwks ? ASYMMETRIC_ALGORITHMS : []),
  ]);
  if (supported.size === 0 && !opts.anonymous) {
    throw new Error(
      "auth: no key is configured and auth.anonymous is false, so no client could connect: " +
        "set auth.hmac_secret, auth.public_key or auth.jwks_url, or set auth.anonymous = true",
    );
  }
  return { hmac, publicKeys, jwks, algorithms: allowedAlgorithms(opts.algorithms, supported) };
}

function hmacKey(secret: unknown): Uint8Array {
  if (typeof secret !== "string") throw new Error("auth.hmac_secret must be a string");
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length < MIN_HMAC_SECRET_BYTES) {
    throw new Error(
      `auth.hmac_secret is ${bytes.length} bytes, shorter than the ${MIN_HMAC_SECRET_BYTES} ` +
        "HS256 needs to be safe: generate one with `openssl rand -base64 32`",
    );
  }
  return bytes;
}

async function importPublicKey(pem: unknown): Promise<Map<string, CryptoKey>> {
  if (typeof pem !== "string") throw new Error("auth.public_key must be a PEM string");
  const text = pem.trim();
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new Error(
      "auth.public_key holds a private key: give the public key instead " +
        "(`openssl pkey -in private.pem -pubout -out public.pem`)",
    );
  }
  if (text.includes("-----BEGIN RSA PUBLIC KEY-----")) {
    throw new Error(
      "auth.public_key is a PKCS#1 RSA key: convert it to SPKI " +
        "(`openssl rsa -RSAPublicKey_in -in key.pem -pubout -out public.pem`)",
    );
  }
  if (!text.startsWith("-----BEGIN PUBLIC KEY-----")) {
    throw new Error(
      'auth.public_key is not a PEM public key: expected text starting with "-----BEGIN PUBLIC KEY-----"; ' +
        "paste the file's content, not its path",
    );
  }
  const keys = new Map<string, CryptoKey>();
  for (const alg of ASYMMETRIC_ALGORITHMS) {
    try {
      keys.set(alg, await importSPKI(text, alg));
    } catch {
      // This alg does not fit the key's type or curve; another one will.
    }
  }
  if (keys.size === 0) {
    throw new Error(
      "auth.public_key could not be parsed: give an SPKI PEM public key " +
        "(RSA, EC P-256/P-384/P-521 or Ed25519), e.g. from `openssl pkey -in private.pem -pubout`",
    );
  }
  for (const key of keys.values()) {
    const { modulusLength } = key.algorithm as Partial<RsaHashedKeyAlgorithm>;
    if (modulusLength !== undefined && modulusLength < 2048) {
      throw new Error(
        `auth.public_key is a ${modulusLength}-bit RSA key: use at least 2048 bits`,
      );
    }
  }
  return keys;
}

function jwksUrl(value: unknown): string {
  if (typeof value !== "string") throw new Error("auth.jwks_url must be a URL string");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(
      `auth.jwks_url "${value}" is not a URL: give an absolute one, e.g. https://idp.example.com/.well-known/jwks.json`,
    );
  }
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname) ||
    url.hostname.startsWith("127.");
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback)) {
    throw new Error(
      `auth.jwks_url "${value}" must use https (plain http is accepted only on loopback), ` +
        "or anyone on the path could swap the keys",
    );
  }
  return url.href;
}

function seconds(value: unknown, fallback: number, key: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new Error(`${key} must be a number of seconds, 0 or more (default ${fallback})`);
  }
  return value;
}

function allowedAlgorithms(requested: unknown, supported: Set<string>): string[] {
  const known = [...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS];
  if (requested === undefined) return known.filter((alg) => supported.has(alg));
  if (!Array.isArray(requested) || requested.length === 0) {
    throw new Error(
      'auth.algorithms must be a non-empty list of algs, e.g. ["RS256"]; ' +
        "leave it out to allow every alg the configured keys support",
    );
  }
  for (const alg of requested) {
    if (typeof alg === "string" && alg.toLowerCase() === "none") {
      throw new Error(
        'auth.algorithms must not contain "none": unsigned tokens would let anyone connect as anyone',
      );
    }
    if (typeof alg !== "string" || !known.includes(alg)) {
      throw new Error(
        `auth.algorithms contains unknown alg ${JSON.stringify(alg)}: use some of ${
          known.join(", ")
        }`,
      );
    }
    if (!supported.has(alg)) {
      const source = HMAC_ALGORITHMS.includes(alg)
        ? "auth.hmac_secret"
        : "auth.jwks_url or an auth.public_key of the matching type";
      throw new Error(
        `auth.algorithms lists "${alg}" but no configured key can verify it: set ${source}, or remove "${alg}"`,
      );
    }
  }
  return known.filter((alg) => requested.includes(alg));
}
