import assert from "node:assert/strict";
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
