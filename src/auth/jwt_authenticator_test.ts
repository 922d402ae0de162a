import assert from "node:assert/strict";
import { exportJWK, type JWK } from "jose";
import { createAuthenticator, signToken } from "./mod.ts";
import { assertRejectsWith, b64url, keyPair, SECRET } from "./_test_util.ts";

const now = () => Math.floor(Date.now() / 1000);

for (const alg of ["HS256", "HS384", "HS512"]) {
  Deno.test(`createAuthenticator() verifies ${alg} tokens with auth.hmac_secret`, async () => {
    const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
    const exp = now() + 600;
    const token = await signToken(
      { sub: "alice", exp, channels: ["news:sport"], info: { name: "Alice" }, docs: { "a": "r" } },
      { secret: SECRET, alg },
    );
    const { claims, ...creds } = await auth.connect(token);
    assert.deepEqual(creds, {
      user: "alice",
      expiresAt: exp * 1000,
      channels: ["news:sport"],
      info: { name: "Alice" },
    });
    assert.deepEqual(claims?.docs, { a: "r" }, "services read their own claims");
    assert.equal(claims?.sub, "alice");
  });
}

// "Ed25519" is the fully-specified alg name (RFC 9864) for what "EdDSA" means with an Ed25519 key.
for (
  const [keyAlg, alg] of [
    ["RS256", "RS256"],
    ["PS256", "PS256"],
    ["ES256", "ES256"],
    ["ES384", "ES384"],
    ["EdDSA", "EdDSA"],
    ["EdDSA", "Ed25519"],
  ]
) {
  Deno.test(`createAuthenticator() verifies ${alg} tokens with auth.public_key`, async () => {
    const { privateKey, pem } = await keyPair(keyAlg);
    const auth = await createAuthenticator({ anonymous: false, publicKey: pem });
    const token = await signToken({ sub: "bob" }, { privateKey, alg, expiresIn: 60 });
    const creds = await auth.connect(token);
    assert.equal(creds.user, "bob");
    assert.deepEqual(creds.channels, []);
    assert.ok(creds.expiresAt! > Date.now() && creds.expiresAt! <= Date.now() + 61_000);
    assert.ok(!("info" in creds));

    const other = await keyPair(keyAlg);
    const forged = await signToken({ sub: "bob" }, { privateKey: other.privateKey, alg });
    await assertRejectsWith(
      auth.connect(forged),
      "ERR_UNAUTHORIZED",
      /^Invalid token: signature verification failed$/,
    );
  });
}

Deno.test("createAuthenticator() accepts tokens from any configured key source", async () => {
  const { privateKey, pem } = await keyPair("ES256");
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET, publicKey: pem });
  const hs = await signToken({ sub: "a" }, { secret: SECRET, alg: "HS256" });
  const es = await signToken({ sub: "b" }, { privateKey, alg: "ES256" });
  assert.equal((await auth.connect(hs)).user, "a");
  assert.equal((await auth.connect(es)).user, "b");
});

Deno.test("Authenticator.connect() without a token follows auth.anonymous", async () => {
  const open = await createAuthenticator({ anonymous: true, hmacSecret: SECRET });
  assert.deepEqual(await open.connect(undefined), { user: "", channels: [] });
  assert.deepEqual(await open.connect(""), { user: "", channels: [] });

  const closed = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
  await assertRejectsWith(
    closed.connect(undefined),
    "ERR_UNAUTHORIZED",
    /^Connection token required: /,
  );
  await assertRejectsWith(closed.connect(""), "ERR_UNAUTHORIZED", /^Connection token required: /);
});

Deno.test("Authenticator.connect() with no key configured refuses every token", async () => {
  const auth = await createAuthenticator({ anonymous: true });
  assert.equal((await auth.connect(undefined)).user, "");
  const token = await signToken({ sub: "eve" }, { secret: SECRET, alg: "HS256" });
  await assertRejectsWith(auth.connect(token), "ERR_UNAUTHORIZED", /checks no tokens/);
});

Deno.test("Authenticator.connect() rejects an expired token with ERR_TOKEN_EXPIRED", async () => {
  const auth = await createAuthenticator({ anonymous: true, hmacSecret: SECRET });
  const token = await signToken({ sub: "alice" }, { secret: SECRET, alg: "HS256", expiresIn: -60 });
  await assertRejectsWith(auth.connect(token), "ERR_TOKEN_EXPIRED", /^Token expired at .*Z: /);
});

Deno.test("Authenticator.connect() allows auth.clock_tolerance_sec of skew on exp", async () => {
  const token = await signToken({ sub: "alice" }, { secret: SECRET, alg: "HS256", expiresIn: -2 });
  const lenient = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
  assert.equal((await lenient.connect(token)).user, "alice");
  const strict = await createAuthenticator({
    anonymous: false,
    hmacSecret: SECRET,
    clockToleranceSec: 0,
  });
  await assertRejectsWith(strict.connect(token), "ERR_TOKEN_EXPIRED");
});

Deno.test("Authenticator.connect() rejects a token not valid yet (nbf)", async () => {
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
  const token = await signToken({ sub: "a", nbf: now() + 600 }, { secret: SECRET, alg: "HS256" });
  await assertRejectsWith(auth.connect(token), "ERR_UNAUTHORIZED", /"nbf"/);
});

Deno.test('Authenticator.connect() refuses unsecured JWTs (alg "none")', async () => {
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
  for (const alg of ["none", "None", "NONE"]) {
    const token = `${b64url({ alg, typ: "JWT" })}.${b64url({ sub: "admin" })}.`;
    await assertRejectsWith(auth.connect(token), "ERR_UNAUTHORIZED", /alg "none"/);
  }
});

Deno.test("Authenticator.connect() refuses an HS256 token signed with the RS256 public key (alg confusion)", async () => {
  const { pem } = await keyPair("RS256");
  const auth = await createAuthenticator({ anonymous: false, publicKey: pem });
  const token = await signToken({ sub: "admin" }, { secret: pem, alg: "HS256" });
  await assertRejectsWith(
    auth.connect(token),
    "ERR_UNAUTHORIZED",
    /^Invalid token: alg "HS256" is not allowed \(allowed: RS256, /,
  );
});

Deno.test("Authenticator.connect() keeps to auth.algorithms", async () => {
  const auth = await createAuthenticator({
    anonymous: false,
    hmacSecret: SECRET,
    algorithms: ["HS256"],
  });
  const token = await signToken({ sub: "a" }, { secret: SECRET, alg: "HS512" });
  await assertRejectsWith(auth.connect(token), "ERR_UNAUTHORIZED", /alg "HS512" is not allowed/);
});

Deno.test("Authenticator.connect() rejects malformed tokens", async () => {
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
  const good = await signToken({ sub: "alice" }, { secret: SECRET, alg: "HS256" });
  const [header, , signature] = good.split(".");
  for (
    const token of [
      "garbage",
      "a.b.c",
      "....",
      `${header}.${b64url({ sub: "alice" }).slice(1)}.${signature}`,
      `${header}.${b64url({ sub: "mallory" })}.${signature}`,
      `${header}.bm90IGpzb24.${signature}`,
      `${b64url({ typ: "JWT" })}.${b64url({ sub: "x" })}.${signature}`,
      `${good}.extra`,
    ]
  ) {
    await assertRejectsWith(auth.connect(token), "ERR_UNAUTHORIZED", /^Invalid token: /);
  }
});

Deno.test("Authenticator.connect() checks aud and iss when configured", async () => {
  const auth = await createAuthenticator({
    anonymous: false,
    hmacSecret: SECRET,
    audience: "switchyard",
    issuer: "https://idp.example",
  });
  const sign = (claims: Record<string, unknown>) =>
    signToken({ sub: "a", ...claims }, { secret: SECRET, alg: "HS256" });
  const ok = await sign({ aud: ["other", "switchyard"], iss: "https://idp.example" });
  assert.equal((await auth.connect(ok)).user, "a");
  await assertRejectsWith(
    auth.connect(await sign({ aud: "other", iss: "https://idp.example" })),
    "ERR_UNAUTHORIZED",
    /"aud".*\(expected "switchyard"\)/,
  );
  await assertRejectsWith(
    auth.connect(await sign({ aud: "switchyard", iss: "https://evil.example" })),
    "ERR_UNAUTHORIZED",
    /"iss".*\(expected "https:\/\/idp.example"\)/,
  );
  await assertRejectsWith(
    auth.connect(await sign({ iss: "https://idp.example" })),
    "ERR_UNAUTHORIZED",
    /"aud"/,
  );
});

Deno.test("Authenticator.connect() checks the sub, channels and channel claims", async () => {
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
  const sign = (claims: Record<string, unknown>) =>
    signToken(claims, { secret: SECRET, alg: "HS256" });
  assert.equal((await auth.connect(await sign({ sub: "" }))).user, "");
  await assertRejectsWith(auth.connect(await sign({})), "ERR_UNAUTHORIZED", /"sub"/);
  await assertRejectsWith(
    auth.connect(await sign({ sub: "a", channels: "news:sport" })),
    "ERR_UNAUTHORIZED",
    /"channels"/,
  );
  await assertRejectsWith(
    auth.connect(await sign({ sub: "a", channels: ["ok", 7] })),
    "ERR_UNAUTHORIZED",
    /"channels"/,
  );
  await assertRejectsWith(
    auth.connect(await sign({ sub: "a", channel: "docs:42" })),
    "ERR_UNAUTHORIZED",
    /subscription token/,
  );
  const info = await auth.connect(await sign({ sub: "a", info: null }));
  assert.ok("info" in info && info.info === null);
});

Deno.test("Authenticator.subscribe() grants a token naming this channel and user", async () => {
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
  const exp = now() + 60;
  const token = await signToken(
    { sub: "alice", channel: "docs:42", exp, info: { role: "editor" } },
    { secret: SECRET, alg: "HS256" },
  );
  assert.deepEqual(await auth.subscribe(token, "docs:42", "alice"), {
    expiresAt: exp * 1000,
    info: { role: "editor" },
  });
  const anon = await signToken({ sub: "", channel: "docs:42" }, { secret: SECRET, alg: "HS256" });
  assert.deepEqual(await auth.subscribe(anon, "docs:42", ""), {});
});

Deno.test("Authenticator.subscribe() forbids a token for another channel or user", async () => {
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
  const sign = (claims: Record<string, unknown>) =>
    signToken(claims, { secret: SECRET, alg: "HS256" });
  const token = await sign({ sub: "alice", channel: "docs:42" });
  await assertRejectsWith(auth.subscribe(token, "docs:43", "alice"), "ERR_FORBIDDEN", /"docs:42"/);
  await assertRejectsWith(auth.subscribe(token, "docs:42", "bob"), "ERR_FORBIDDEN", /"alice"/);
  await assertRejectsWith(auth.subscribe(token, "docs:42", ""), "ERR_FORBIDDEN");
  await assertRejectsWith(
    auth.subscribe(await sign({ channel: "docs:42" }), "docs:42", ""),
    "ERR_FORBIDDEN",
  );
  await assertRejectsWith(
    auth.subscribe(await sign({ sub: "alice" }), "docs:42", "alice"),
    "ERR_FORBIDDEN",
    /no "channel" claim/,
  );
});

Deno.test("Authenticator.subscribe() rejects expired, forged and missing tokens", async () => {
  const auth = await createAuthenticator({ anonymous: true, hmacSecret: SECRET });
  const claims = { sub: "alice", channel: "docs:42" };
  const expired = await signToken(claims, { secret: SECRET, alg: "HS256", expiresIn: -60 });
  await assertRejectsWith(auth.subscribe(expired, "docs:42", "alice"), "ERR_TOKEN_EXPIRED");
  const forged = await signToken(claims, { secret: `${SECRET}!`, alg: "HS256" });
  await assertRejectsWith(
    auth.subscribe(forged, "docs:42", "alice"),
    "ERR_UNAUTHORIZED",
    /signature verification failed/,
  );
  const none = `${b64url({ alg: "none" })}.${b64url(claims)}.`;
  await assertRejectsWith(auth.subscribe(none, "docs:42", "alice"), "ERR_UNAUTHORIZED");
  await assertRejectsWith(auth.subscribe("", "docs:42", "alice"), "ERR_UNAUTHORIZED", /required/);
});

/** Counts the signature checks `crypto.subtle.verify` performs until `restore()`. */
function countSignatureChecks(): { readonly count: number; restore(): void } {
  const original = crypto.subtle.verify;
  const spy = {
    count: 0,
    restore: () => void Reflect.deleteProperty(crypto.subtle, "verify"),
  };
  Object.defineProperty(crypto.subtle, "verify", {
    configurable: true,
    value: (...args: Parameters<SubtleCrypto["verify"]>) => {
      spy.count++;
      return original.apply(crypto.subtle, args);
    },
  });
  return spy;
}

/** A clock the test moves, starting on a whole second near the real time. */
function testClock(): { now: () => number; ms: number } {
  const clock = { ms: Math.floor(Date.now() / 1000) * 1000, now: () => clock.ms };
  return clock;
}

Deno.test("Authenticator.connect() checks a repeated token's signature once and hands out fresh claims", async () => {
  const clock = testClock();
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET }, clock);
  const token = await signToken(
    { sub: "alice", channels: ["news"], info: { name: "Alice" }, docs: { a: "r" } },
    { secret: SECRET, alg: "HS256", expiresIn: 600 },
  );
  const checks = countSignatureChecks();
  try {
    const first = await auth.connect(token);
    (first.info as { name: string }).name = "Mallory";
    first.channels.push("admin");
    (first.claims!.docs as Record<string, string>).a = "rw";
    const second = await auth.connect(token);
    assert.deepEqual(second.info, { name: "Alice" });
    assert.deepEqual(second.channels, ["news"]);
    assert.deepEqual(second.claims?.docs, { a: "r" });
    assert.equal(second.expiresAt, (clock.ms / 1000 + 600) * 1000);
    await auth.connect(token);
    assert.equal(checks.count, 1);

    const sub = await signToken({ sub: "alice", channel: "docs:1" }, {
      secret: SECRET,
      alg: "HS256",
    });
    await auth.subscribe(sub, "docs:1", "alice");
    await assertRejectsWith(auth.subscribe(sub, "docs:1", "bob"), "ERR_FORBIDDEN");
    await assertRejectsWith(auth.connect(sub), "ERR_UNAUTHORIZED", /subscription token/);
    assert.equal(checks.count, 2, "subscription tokens share the cache and its checks");
  } finally {
    checks.restore();
  }
});

Deno.test("Authenticator.connect() refuses a cached token once it expires, with ERR_TOKEN_EXPIRED", async () => {
  const clock = testClock();
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET }, clock);
  const exp = clock.ms / 1000 + 30;
  const token = await signToken({ sub: "alice", exp }, { secret: SECRET, alg: "HS256" });
  const checks = countSignatureChecks();
  try {
    assert.equal((await auth.connect(token)).user, "alice");
    clock.ms += 34_999;
    assert.equal((await auth.connect(token)).user, "alice", "within auth.clock_tolerance_sec");
    clock.ms += 1;
    const cached = await assertRejectsWith(auth.connect(token), "ERR_TOKEN_EXPIRED");
    assert.equal(checks.count, 1, "the cached entry, not a new verification, refused it");
    assert.equal(
      cached.message,
      `Token expired at ${new Date(exp * 1000).toISOString()}: get a fresh token`,
    );
    const fresh = await createAuthenticator({ anonymous: false, hmacSecret: SECRET }, clock);
    const uncached = await assertRejectsWith(fresh.connect(token), "ERR_TOKEN_EXPIRED");
    assert.equal(cached.message, uncached.message);
  } finally {
    checks.restore();
  }
});

Deno.test("Authenticator.connect() refuses a token before its nbf, cached or not", async () => {
  const clock = testClock();
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET }, clock);
  const nbf = clock.ms / 1000 + 100;
  const token = await signToken({ sub: "alice", nbf }, { secret: SECRET, alg: "HS256" });
  const checks = countSignatureChecks();
  try {
    const uncached = await assertRejectsWith(auth.connect(token), "ERR_UNAUTHORIZED", /"nbf"/);
    clock.ms += 100_000;
    assert.equal((await auth.connect(token)).user, "alice");
    assert.equal(checks.count, 2);
    clock.ms -= 10_000;
    const cached = await assertRejectsWith(auth.connect(token), "ERR_UNAUTHORIZED", /"nbf"/);
    assert.equal(checks.count, 2, "the cached entry, not a new verification, refused it");
    assert.equal(cached.message, uncached.message);
  } finally {
    checks.restore();
  }
});

Deno.test("Authenticator.connect() verifies a token again once its cached result is 60 s old", async () => {
  const clock = testClock();
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET }, clock);
  const token = await signToken({ sub: "alice" }, { secret: SECRET, alg: "HS256" });
  const checks = countSignatureChecks();
  try {
    await auth.connect(token);
    clock.ms += 59_999;
    await auth.connect(token);
    assert.equal(checks.count, 1);
    clock.ms += 1;
    await auth.connect(token);
    assert.equal(checks.count, 2);
    await auth.connect(token);
    assert.equal(checks.count, 2, "the new verification is cached in turn");
  } finally {
    checks.restore();
  }
});

Deno.test("Authenticator.connect() caches at most 1,000 tokens, dropping the oldest", async () => {
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
  const tokens = await Promise.all(
    Array.from(
      { length: 1_001 },
      (_, i) => signToken({ sub: `u${i}` }, { secret: SECRET, alg: "HS256" }),
    ),
  );
  for (const token of tokens) await auth.connect(token);
  const checks = countSignatureChecks();
  try {
    await auth.connect(tokens[1]);
    await auth.connect(tokens[1_000]);
    assert.equal(checks.count, 0);
    assert.equal((await auth.connect(tokens[0])).user, "u0");
    assert.equal(checks.count, 1);
  } finally {
    checks.restore();
  }
});

Deno.test("Authenticator.connect() never caches a failure nor a token over 8 KiB", async () => {
  const auth = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
  const forged = await signToken({ sub: "alice" }, { secret: `${SECRET}!`, alg: "HS256" });
  const expired = await signToken({ sub: "alice" }, {
    secret: SECRET,
    alg: "HS256",
    expiresIn: -60,
  });
  const noSub = await signToken({}, { secret: SECRET, alg: "HS256" });
  const long = await signToken({ sub: "alice", info: "x".repeat(8_192) }, {
    secret: SECRET,
    alg: "HS256",
  });
  const checks = countSignatureChecks();
  try {
    for (let i = 0; i < 2; i++) {
      await assertRejectsWith(auth.connect(forged), "ERR_UNAUTHORIZED", /signature/);
      await assertRejectsWith(auth.connect(expired), "ERR_TOKEN_EXPIRED");
      assert.equal((await auth.connect(long)).user, "alice");
    }
    assert.equal(checks.count, 6);
    for (let i = 0; i < 2; i++) {
      await assertRejectsWith(auth.connect(noSub), "ERR_UNAUTHORIZED", /"sub"/);
    }
    assert.equal(checks.count, 7, "a token that verified is cached even when connect() refuses it");
  } finally {
    checks.restore();
  }
});

Deno.test("Authenticator.connect() refuses a cached token once its JWKS key is replaced", async () => {
  const served: { keys: JWK[] } = { keys: [] };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => Response.json(served),
  );
  try {
    const before = await keyPair("ES256");
    const after = await keyPair("ES256");
    const jwk = async (key: CryptoKey) => ({ ...await exportJWK(key), kid: "k1", alg: "ES256" });
    served.keys = [await jwk(before.publicKey)];
    const auth = await createAuthenticator({
      anonymous: false,
      jwksUrl: `http://127.0.0.1:${server.addr.port}/jwks.json`,
      jwksCacheMaxAgeSec: 0,
    });
    const token = await signToken({ sub: "a" }, {
      privateKey: before.privateKey,
      alg: "ES256",
      kid: "k1",
    });
    assert.equal((await auth.connect(token)).user, "a");
    assert.equal((await auth.connect(token)).user, "a");
    served.keys = [await jwk(after.publicKey)];
    await assertRejectsWith(auth.connect(token), "ERR_UNAUTHORIZED", /signature verification/);
  } finally {
    await server.shutdown();
  }
});
