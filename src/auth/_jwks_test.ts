import assert from "node:assert/strict";
import { exportJWK, type JWK } from "jose";
import { createAuthenticator, signToken } from "./mod.ts";
import { assertRejectsWith, keyPair } from "./_test_util.ts";

/** A local JWKS endpoint whose key set and status the test changes while it runs. */
interface JwksServer {
  url: string;
  /** Key set served next. */
  keys: JWK[];
  /** Status served next; anything but 200 sends no body. */
  status: number;
  /** Requests answered or pending so far. */
  fetches: number;
  /** While set, requests wait for this promise before being answered. */
  hold?: Promise<void>;
  stop(): Promise<void>;
}

function serveJwks(): JwksServer {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    state.fetches++;
    if (state.hold) await state.hold;
    if (state.status !== 200) return new Response("down", { status: state.status });
    return Response.json({ keys: state.keys });
  });
  const state: JwksServer = {
    url: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    keys: [],
    status: 200,
    fetches: 0,
    stop: () => server.shutdown(),
  };
  return state;
}

async function jwk(publicKey: CryptoKey, kid: string | undefined, alg: string): Promise<JWK> {
  return { ...await exportJWK(publicKey), ...(kid === undefined ? {} : { kid }), alg, use: "sig" };
}

Deno.test("createAuthenticator() verifies tokens with keys from auth.jwks_url and caches them", async () => {
  const jwks = serveJwks();
  try {
    const { privateKey, publicKey } = await keyPair("ES256");
    jwks.keys = [await jwk(publicKey, "k1", "ES256")];
    const auth = await createAuthenticator({ anonymous: false, jwksUrl: jwks.url });
    assert.equal(jwks.fetches, 0, "the JWKS is fetched on first use, not at start");
    for (const sub of ["alice", "bob"]) {
      const token = await signToken({ sub }, { privateKey, alg: "ES256", kid: "k1" });
      assert.equal((await auth.connect(token)).user, sub);
    }
    assert.equal(jwks.fetches, 1);
  } finally {
    await jwks.stop();
  }
});

Deno.test("createAuthenticator() refetches auth.jwks_url for an unknown kid (key rotation)", async () => {
  const jwks = serveJwks();
  try {
    const first = await keyPair("RS256");
    const second = await keyPair("EdDSA");
    jwks.keys = [await jwk(first.publicKey, "2024", "RS256")];
    const auth = await createAuthenticator({
      anonymous: false,
      jwksUrl: jwks.url,
      jwksCooldownSec: 0,
    });
    const old = await signToken({ sub: "a" }, {
      privateKey: first.privateKey,
      alg: "RS256",
      kid: "2024",
    });
    assert.equal((await auth.connect(old)).user, "a");

    jwks.keys = [await jwk(second.publicKey, "2025", "EdDSA")];
    const rotated = await signToken({ sub: "b" }, {
      privateKey: second.privateKey,
      alg: "EdDSA",
      kid: "2025",
    });
    assert.equal((await auth.connect(rotated)).user, "b");
    assert.equal(jwks.fetches, 2);

    await assertRejectsWith(
      auth.connect(old),
      "ERR_UNAUTHORIZED",
      /^Invalid token: no key in the JWKS at http:\/\/127\.0\.0\.1:\d+\/\.well-known\/jwks\.json matches its kid "2024"$/,
    );
  } finally {
    await jwks.stop();
  }
});

Deno.test("createAuthenticator() refetches auth.jwks_url at most once per cooldown", async () => {
  const jwks = serveJwks();
  try {
    const { privateKey, publicKey } = await keyPair("ES256");
    jwks.keys = [await jwk(publicKey, "k1", "ES256")];
    const auth = await createAuthenticator({ anonymous: false, jwksUrl: jwks.url });
    const known = await signToken({ sub: "a" }, { privateKey, alg: "ES256", kid: "k1" });
    assert.equal((await auth.connect(known)).user, "a");
    for (const kid of ["x1", "x2", "x3"]) {
      const token = await signToken({ sub: "a" }, { privateKey, alg: "ES256", kid });
      await assertRejectsWith(auth.connect(token), "ERR_UNAUTHORIZED", /matches its kid/);
    }
    assert.equal(jwks.fetches, 1);
  } finally {
    await jwks.stop();
  }
});

Deno.test("createAuthenticator() tries every JWKS key that fits a token without kid", async () => {
  const jwks = serveJwks();
  try {
    const a = await keyPair("ES256");
    const b = await keyPair("ES256");
    jwks.keys = [
      await jwk(a.publicKey, undefined, "ES256"),
      await jwk(b.publicKey, undefined, "ES256"),
    ];
    const auth = await createAuthenticator({ anonymous: false, jwksUrl: jwks.url });
    const token = await signToken({ sub: "b" }, { privateKey: b.privateKey, alg: "ES256" });
    assert.equal((await auth.connect(token)).user, "b");
    const stranger = await keyPair("ES256");
    const forged = await signToken({ sub: "b" }, { privateKey: stranger.privateKey, alg: "ES256" });
    await assertRejectsWith(
      auth.connect(forged),
      "ERR_UNAUTHORIZED",
      /signature verification failed/,
    );
    const expired = await signToken({ sub: "b" }, {
      privateKey: b.privateKey,
      alg: "ES256",
      expiresIn: -60,
    });
    await assertRejectsWith(auth.connect(expired), "ERR_TOKEN_EXPIRED");
  } finally {
    await jwks.stop();
  }
});

Deno.test("createAuthenticator() uses auth.public_key for tokens without kid when a JWKS is also set", async () => {
  const jwks = serveJwks();
  try {
    const local = await keyPair("ES256");
    const remote = await keyPair("ES256");
    jwks.keys = [await jwk(remote.publicKey, "r1", "ES256")];
    const auth = await createAuthenticator({
      anonymous: false,
      publicKey: local.pem,
      jwksUrl: jwks.url,
    });
    const viaPem = await signToken({ sub: "p" }, { privateKey: local.privateKey, alg: "ES256" });
    assert.equal((await auth.connect(viaPem)).user, "p");
    assert.equal(jwks.fetches, 0);
    const viaJwks = await signToken({ sub: "j" }, {
      privateKey: remote.privateKey,
      alg: "ES256",
      kid: "r1",
    });
    assert.equal((await auth.connect(viaJwks)).user, "j");
  } finally {
    await jwks.stop();
  }
});

Deno.test("Authenticator.connect() fails with ERR_UNAVAILABLE when auth.jwks_url is unreachable", async () => {
  const jwks = serveJwks();
  await jwks.stop();
  const { privateKey } = await keyPair("ES256");
  const auth = await createAuthenticator({ anonymous: false, jwksUrl: jwks.url });
  const token = await signToken({ sub: "a" }, { privateKey, alg: "ES256", kid: "k1" });
  const error = await assertRejectsWith(auth.connect(token), "ERR_UNAVAILABLE");
  assert.ok(error.message.includes(jwks.url), error.message);
  await assertRejectsWith(auth.subscribe(token, "docs:1", "a"), "ERR_UNAVAILABLE");
});

Deno.test("Authenticator.connect() fails with ERR_UNAVAILABLE when auth.jwks_url answers an error", async () => {
  const jwks = serveJwks();
  try {
    jwks.status = 503;
    const { privateKey } = await keyPair("ES256");
    const auth = await createAuthenticator({ anonymous: false, jwksUrl: jwks.url });
    const token = await signToken({ sub: "a" }, { privateKey, alg: "ES256", kid: "k1" });
    await assertRejectsWith(auth.connect(token), "ERR_UNAVAILABLE", /200 OK/);
  } finally {
    await jwks.stop();
  }
});

Deno.test("Authenticator.connect() fails with ERR_UNAVAILABLE when auth.jwks_url does not answer in time", async () => {
  const jwks = serveJwks();
  const release = Promise.withResolvers<void>();
  jwks.hold = release.promise;
  try {
    const { privateKey } = await keyPair("ES256");
    const auth = await createAuthenticator({
      anonymous: false,
      jwksUrl: jwks.url,
      jwksTimeoutSec: 0.2,
    });
    const token = await signToken({ sub: "a" }, { privateKey, alg: "ES256", kid: "k1" });
    const started = performance.now();
    await assertRejectsWith(auth.connect(token), "ERR_UNAVAILABLE", /no answer within 200 ms/);
    assert.ok(performance.now() - started < 5_000, "the timeout, not a default, ended the wait");
  } finally {
    release.resolve();
    await jwks.stop();
  }
});
