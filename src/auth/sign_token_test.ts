import assert from "node:assert/strict";
import { decodeJwt, decodeProtectedHeader, exportPKCS8 } from "jose";
import { createAuthenticator, signToken } from "./mod.ts";
import { keyPair, SECRET } from "./_test_util.ts";

Deno.test("signToken() sets alg, typ, kid, iat and exp", async () => {
  const before = Math.floor(Date.now() / 1000);
  const token = await signToken({ sub: "alice" }, {
    secret: SECRET,
    alg: "HS256",
    kid: "k1",
    expiresIn: 90,
  });
  const after = Math.floor(Date.now() / 1000);
  assert.deepEqual(decodeProtectedHeader(token), { alg: "HS256", typ: "JWT", kid: "k1" });
  const claims = decodeJwt(token);
  assert.equal(claims.sub, "alice");
  assert.ok(claims.iat! >= before && claims.iat! <= after);
  assert.ok(claims.exp! >= before + 90 && claims.exp! <= after + 90);
});

Deno.test("signToken() takes time spans and keeps claims' own iat and exp", async () => {
  const spanned = decodeJwt(
    await signToken({ sub: "a" }, { secret: SECRET, alg: "HS256", expiresIn: "2h" }),
  );
  assert.equal(spanned.exp! - spanned.iat!, 7200);
  const fixed = decodeJwt(
    await signToken({ sub: "a", iat: 1000, exp: 2000 }, { secret: SECRET, alg: "HS256" }),
  );
  assert.deepEqual([fixed.iat, fixed.exp], [1000, 2000]);
});

Deno.test("signToken() signs with a PKCS#8 PEM private key", async () => {
  const { privateKey, pem } = await keyPair("EdDSA");
  const token = await signToken({ sub: "a" }, {
    privateKey: await exportPKCS8(privateKey),
    alg: "EdDSA",
  });
  const auth = await createAuthenticator({ anonymous: false, publicKey: pem });
  assert.equal((await auth.connect(token)).user, "a");
});

Deno.test("signToken() needs exactly one of secret and privateKey", async () => {
  const { privateKey } = await keyPair("ES256");
  await assert.rejects(signToken({}, { alg: "HS256" }), TypeError);
  await assert.rejects(signToken({}, { alg: "ES256", secret: SECRET, privateKey }), TypeError);
});
