import assert from "node:assert/strict";
import { createAuthenticator, signToken } from "../../auth/mod.ts";
import {
  authorizeSession,
  pathWithoutToken,
  readCookie,
  readCookies,
  sessionGranted,
  stripCredentials,
} from "./access.ts";

const SECRET = "gateway-access-test-secret-32-bytes-long";
const authenticator = await createAuthenticator({ anonymous: false, hmacSecret: SECRET });
const options = { authenticator, anonymous: false };

function token(claims: Record<string, unknown>, expiresIn?: string): Promise<string> {
  return signToken({ sub: "u1", ...claims }, { secret: SECRET, alg: "HS256", expiresIn });
}

function check(url: string, headers: HeadersInit = {}, secure = false) {
  const req = new Request(url, { headers });
  const parsed = new URL(url);
  const id = parsed.pathname.split("/")[2];
  return authorizeSession(req, { id, url: parsed, secure }, options);
}

Deno.test("sessionGranted() matches ids and prefix* patterns of the sessions claim", () => {
  const claims = { sessions: ["a", "team-*"] };
  assert.equal(sessionGranted(claims, "a"), true);
  assert.equal(sessionGranted(claims, "ab"), false);
  assert.equal(sessionGranted(claims, "team-7"), true);
  assert.equal(sessionGranted(claims, "team"), false);
  assert.equal(sessionGranted({ sessions: ["*"] }, "anything"), true);
  assert.equal(sessionGranted({ session: "b" }, "b"), true);
  assert.equal(sessionGranted({ session: "b" }, "a"), false);
  assert.equal(sessionGranted({ sessions: "a" }, "a"), false, "a string is not a list");
  assert.equal(sessionGranted({ sessions: [1, null] }, "1"), false);
  assert.equal(sessionGranted({}, "a"), false);
  assert.equal(sessionGranted(undefined, "a"), false);
});

Deno.test("pathWithoutToken() drops JWT token parameters and keeps the rest byte for byte", () => {
  const path = (url: string) => pathWithoutToken(new URL(`http://h${url}`));
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzZXNzaW9ucyI6WyJhIl19.c2ln";
  assert.equal(path(`/session/a/x.js?import&token=${jwt}&t=1`), "/session/a/x.js?import&t=1");
  assert.equal(path(`/session/a/?token=${jwt}`), "/session/a/");
  assert.equal(path(`/session/a/?to%6Ben=${jwt}&q=a%20b+c`), "/session/a/?q=a%20b+c");
  assert.equal(path(`/session/a/?token=${jwt}&token=h.p.s&tokens=3`), "/session/a/?tokens=3");
  assert.equal(path("/session/a/?import"), "/session/a/?import");
  assert.equal(path("/session/a/"), "/session/a/");
  // Vite's HMR socket has a `token` of its own; it is not a JWT and must reach Vite.
  assert.equal(path("/session/a/?token=M7CgoXo4qadX"), "/session/a/?token=M7CgoXo4qadX");
  assert.equal(path(`/session/a/?token=M7Cg&token=${jwt}`), "/session/a/?token=M7Cg");
});

Deno.test("stripCredentials() removes sy_session_* cookies and a Bearer header only", () => {
  const headers = new Headers({
    cookie: "theme=dark; sy_session_a=T1; sy_session_b=T2; lang=en",
    authorization: "Bearer T1",
  });
  stripCredentials(headers);
  assert.equal(headers.get("cookie"), "theme=dark; lang=en");
  assert.equal(headers.get("authorization"), null);

  const basic = new Headers({ cookie: "sy_session_a=T", authorization: "Basic dTpw" });
  stripCredentials(basic);
  assert.equal(basic.get("cookie"), null);
  assert.equal(basic.get("authorization"), "Basic dTpw");
});

Deno.test("readCookie() finds one cookie by exact name", () => {
  assert.equal(readCookie("a=1; sy_session_a=T; sy_session_ab=U", "sy_session_a"), "T");
  assert.equal(readCookie("sy_session_ab=U", "sy_session_a"), undefined);
  assert.equal(readCookie(null, "x"), undefined);
});

Deno.test("authorizeSession() swaps a token link for a path-scoped cookie with a 303", async () => {
  const t = await token({ sessions: ["a"] });
  const access = await check(`http://h/session/a/page?x=1&token=${t}`);
  assert.ok(!access.ok);
  assert.equal(access.response.status, 303);
  assert.equal(access.response.headers.get("location"), "/session/a/page?x=1");
  assert.equal(
    access.response.headers.get("set-cookie"),
    `sy_session_a=${t}; Path=/session/a/; HttpOnly; SameSite=Lax`,
  );

  const secure = await check(`https://h/session/a/?token=${t}`, {}, true);
  assert.ok(!secure.ok);
  assert.match(secure.response.headers.get("set-cookie")!, /; Secure$/);
});

Deno.test("authorizeSession() lets the cookie or a Bearer header in, without forwarding them", async () => {
  const t = await token({ sessions: ["team-*"] });
  const ways: Record<string, string>[] = [
    { cookie: `x=1; sy_session_team-1=${t}` },
    { authorization: `Bearer ${t}` },
  ];
  for (const headers of ways) {
    const access = await check("http://h/session/team-1/app.js?v=2", headers);
    assert.ok(access.ok);
    assert.equal(access.path, "/session/team-1/app.js?v=2");
    const upstream = new Headers(headers);
    access.editHeaders(upstream);
    assert.equal(upstream.get("authorization"), null);
    assert.equal(upstream.get("cookie"), headers.cookie ? "x=1" : null);
  }
});

Deno.test("authorizeSession() takes a token in the query of a WebSocket or POST as is", async () => {
  const t = await token({ sessions: ["a"] });
  const req = new Request(`http://h/session/a/hmr?token=${t}`, {
    headers: { upgrade: "websocket", connection: "upgrade" },
  });
  const access = await authorizeSession(
    req,
    { id: "a", url: new URL(req.url), secure: false },
    options,
  );
  assert.ok(access.ok);
  assert.equal(access.path, "/session/a/hmr");
});

Deno.test("authorizeSession() refuses another session's token with 403", async () => {
  const b = await token({ sessions: ["b"] });
  for (
    const [url, headers] of [
      [`http://h/session/a/?token=${b}`, {}],
      ["http://h/session/a/", { authorization: `Bearer ${b}` }],
      ["http://h/session/a/", { cookie: `sy_session_a=${b}` }],
    ] as const
  ) {
    const access = await check(url, headers);
    assert.ok(!access.ok);
    assert.equal(access.response.status, 403, url);
    assert.equal((await access.response.json()).error, "ERR_FORBIDDEN");
  }
  const cookieOfB = await check("http://h/session/a/", { cookie: `sy_session_b=${b}` });
  assert.ok(!cookieOfB.ok);
  assert.equal(cookieOfB.response.status, 401, "only the cookie of the session asked for counts");
  await cookieOfB.response.body?.cancel();
});

Deno.test("authorizeSession() answers 401 without a valid token: JSON, or a page for browsers", async () => {
  const none = await check("http://h/session/a/");
  assert.ok(!none.ok);
  assert.equal(none.response.status, 401);
  const body = await none.response.json();
  assert.equal(body.error, "ERR_UNAUTHORIZED");
  assert.match(body.message, /\?token=/);

  const page = await check("http://h/session/a/", { accept: "text/html" });
  assert.ok(!page.ok);
  assert.equal(page.response.status, 401);
  assert.match(page.response.headers.get("content-type")!, /text\/html/);
  assert.match(await page.response.text(), /Session a needs a token/);

  const forged = await check("http://h/session/a/", { authorization: "Bearer not.a.jwt" });
  assert.ok(!forged.ok);
  assert.equal((await forged.response.json()).error, "ERR_UNAUTHORIZED");

  const old = await token({ sessions: ["a"], exp: Math.floor(Date.now() / 1000) - 60 });
  const expired = await check("http://h/session/a/", { cookie: `sy_session_a=${old}` });
  assert.ok(!expired.ok);
  assert.equal(expired.response.status, 401);
  assert.equal((await expired.response.json()).error, "ERR_TOKEN_EXPIRED");
});

Deno.test("authorizeSession() lets a granting token win over a stale one", async () => {
  const stale = await token({ sessions: ["b"] });
  const fresh = await token({ sessions: ["a"] });
  const access = await check("http://h/session/a/", {
    authorization: `Bearer ${fresh}`,
    cookie: `sy_session_a=${stale}`,
  });
  assert.ok(access.ok);
});

Deno.test("authorizeSession() with anonymous lets everyone in and still strips tokens", async () => {
  const req = new Request("http://h/session/a/?token=h.p.s&y=1");
  const access = await authorizeSession(req, {
    id: "a",
    url: new URL(req.url),
    secure: false,
  }, { authenticator, anonymous: true });
  assert.ok(access.ok);
  assert.equal(access.path, "/session/a/?y=1");
});

/** `authorizeSession()` for a request to session `id`'s own host (subdomain routing). */
function checkOwnHost(id: string, url: string, headers: HeadersInit = {}, secure = false) {
  const req = new Request(url, { headers });
  return authorizeSession(req, { id, url: new URL(url), secure, ownHost: true }, options);
}

Deno.test("readCookies() finds every cookie of one name, in order", () => {
  assert.deepEqual(readCookies("sy_session_a=T1; x=1; sy_session_a=T2", "sy_session_a"), [
    "T1",
    "T2",
  ]);
  assert.deepEqual(readCookies("sy_session_ab=U", "sy_session_a"), []);
});

Deno.test("authorizeSession() on a session's own host sets a host-only cookie for Path=/", async () => {
  const a = await token({ sessions: ["a"] });
  const res = await checkOwnHost("a", `http://a.dev.example.com/app/?x=1&token=${a}`);
  assert.equal(res.ok, false);
  if (res.ok) return;
  assert.equal(res.response.status, 303);
  assert.equal(res.response.headers.get("location"), "/app/?x=1");
  const cookie = res.response.headers.get("set-cookie");
  assert.equal(cookie, `sy_session_a=${a}; Path=/; HttpOnly; SameSite=Lax`);
  assert.doesNotMatch(cookie!, /domain=/i, "host-only: sibling session hosts never get it");

  const secure = await checkOwnHost("a", `https://a.dev.example.com/?token=${a}`, {}, true);
  assert.equal(secure.ok, false);
  if (secure.ok) return;
  assert.equal(
    secure.response.headers.get("set-cookie"),
    `sy_session_a=${a}; Path=/; HttpOnly; SameSite=Lax; Secure`,
  );
});

Deno.test("authorizeSession() on a session's own host checks the claim of cookie and Bearer", async () => {
  const [a, b] = await Promise.all([token({ sessions: ["a"] }), token({ sessions: ["b"] })]);
  const url = "http://a.dev.example.com/src/main.ts?import";
  const byCookie = await checkOwnHost("a", url, { cookie: `theme=dark; sy_session_a=${a}` });
  assert.equal(byCookie.ok, true);
  if (!byCookie.ok) return;
  assert.equal(byCookie.path, "/src/main.ts?import", "the path goes upstream unchanged");
  const headers = new Headers({ cookie: `theme=dark; sy_session_a=${a}` });
  byCookie.editHeaders(headers);
  assert.equal(headers.get("cookie"), "theme=dark");

  assert.equal((await checkOwnHost("a", url, { authorization: `Bearer ${a}` })).ok, true);
  const wrong: Record<string, string>[] = [{ authorization: `Bearer ${b}` }, {
    cookie: `sy_session_a=${b}`,
  }];
  for (const headers of wrong) {
    const refused = await checkOwnHost("a", url, headers);
    assert.equal(refused.ok ? 200 : refused.response.status, 403, JSON.stringify(headers));
  }
  const other = await checkOwnHost("a", url, { cookie: `sy_session_b=${b}` });
  assert.equal(other.ok ? 200 : other.response.status, 401, "b's cookie is not a's");
  // A sibling host can plant a parent-domain cookie of the same name: it must not lock a out.
  const planted = await checkOwnHost("a", url, { cookie: `sy_session_a=${b}; sy_session_a=${a}` });
  assert.equal(planted.ok, true);
});

Deno.test("authorizeSession() passes Vite's own ?token= through to Vite with the session's cookie", async () => {
  const granting = await token({ sessions: ["a"] });
  const access = await check("http://h/session/a/?token=M7CgoXo4qadX", {
    cookie: `sy_session_a=${granting}`,
    upgrade: "websocket",
    connection: "Upgrade",
  });
  assert.ok(access.ok);
  assert.equal(access.path, "/session/a/?token=M7CgoXo4qadX");
});
