/**
 * The session gateway inside a real Switchyard (`[gateway]` from TOML and the environment):
 * token links, the session cookie, one session's token refused by another, the token never
 * reaching the dev server, and no dev server left after `app.close()` (SIGINT/SIGTERM path).
 *
 * @module
 */

import assert from "node:assert/strict";
import { livingGroupMembers } from "../src/services/gateway/supervisor.ts";
import { deadline } from "./_deadline.ts";
import { startGatewayServer } from "./_gateway_server.ts";
import { rawRequest } from "./_raw_http.ts";

/** Answers with what it received, so the test sees exactly what went upstream. */
const ECHO_SERVER = `
const [port, id] = Deno.args;
Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen() {} }, (req) => {
  const url = new URL(req.url);
  if (req.headers.get("upgrade") === "websocket") {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onopen = () => socket.send(url.pathname + url.search);
    return response;
  }
  return Response.json({
    id,
    path: url.pathname,
    search: url.search,
    cookie: req.headers.get("cookie"),
    authorization: req.headers.get("authorization"),
  });
});
`;

async function get(url: string, headers: HeadersInit = {}) {
  const res = await deadline(fetch(url, { headers, redirect: "manual" }), 20_000, `GET ${url}`);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text };
}

Deno.test("Switchyard [gateway] opens a session only with its token and never forwards it", async () => {
  const gateway = await startGatewayServer({ session: ECHO_SERVER, gateway: "max_sessions = 3" });
  const { server } = gateway;
  const token = (sessions: string[]) => gateway.token({ sessions });
  try {
    const base = server.http;
    const [a, b] = await Promise.all([token(["a"]), token(["b"])]);

    const none = await get(`${base}/session/a/`);
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.text).error, "ERR_UNAUTHORIZED");
    const page = await get(`${base}/session/a/`, { accept: "text/html" });
    assert.equal(page.status, 401);
    assert.match(page.text, /<h1>Session a needs a token<\/h1>/);
    assert.deepEqual(server.app.gateway?.list(), [], "nothing starts without access");

    const link = await get(`${base}/session/a/app?x=1&token=${a}`);
    assert.equal(link.status, 303);
    assert.equal(link.headers.get("location"), "/session/a/app?x=1");
    const setCookie = link.headers.get("set-cookie")!;
    assert.equal(setCookie, `sy_session_a=${a}; Path=/session/a/; HttpOnly; SameSite=Lax`);
    const cookie = setCookie.split(";")[0];

    const opened = await get(`${base}/session/a/app?x=1`, { cookie: `theme=dark; ${cookie}` });
    assert.equal(opened.status, 200, opened.text);
    assert.deepEqual(JSON.parse(opened.text), {
      id: "a",
      path: "/session/a/app",
      search: "?x=1",
      cookie: "theme=dark",
      authorization: null,
    });

    const bearer = await get(`${base}/session/a/?import`, {
      authorization: `Bearer ${a}`,
      cookie: cookie,
    });
    assert.equal(bearer.status, 200, bearer.text);
    const seen = JSON.parse(bearer.text);
    assert.equal(seen.search, "?import");
    assert.equal(seen.authorization, null);
    assert.equal(seen.cookie, null);

    const posted = await deadline(
      fetch(`${base}/session/a/api?import&token=${a}&t=2`, { method: "POST", body: "{}" }),
      20_000,
      "POST with a token in the query",
    );
    assert.equal(posted.status, 200);
    assert.equal((await posted.json()).search, "?import&t=2");

    const socket = new WebSocket(`${base.replace("http", "ws")}/session/a/hmr?v=1&token=${a}`);
    const first = await deadline(
      new Promise<string>((resolve, reject) => {
        socket.onmessage = (e) => resolve(String(e.data));
        socket.onerror = () => reject(new Error("WebSocket through the gateway failed"));
      }),
      20_000,
      "first WebSocket message",
    );
    assert.equal(first, "/session/a/hmr?v=1");
    const socketClosed = new Promise((resolve) => socket.onclose = resolve);
    socket.close();
    await socketClosed;

    const wrongToken: Record<string, string>[] = [
      { authorization: `Bearer ${b}` },
      { cookie: `sy_session_a=${b}` },
    ];
    for (const headers of wrongToken) {
      const refused = await get(`${base}/session/a/`, headers);
      assert.equal(refused.status, 403, JSON.stringify(headers));
      assert.equal(JSON.parse(refused.text).error, "ERR_FORBIDDEN");
    }
    assert.equal((await get(`${base}/session/a/?token=${b}`)).status, 403);
    assert.equal(
      (await get(`${base}/session/a/`, { cookie: `sy_session_b=${b}` })).status,
      401,
      "b's cookie is not a's cookie",
    );
    // Dot segments, plain or encoded, cannot walk from a's prefix into b's: the path is
    // normalized before the session is chosen, and an encoded slash is no separator.
    const port = server.app.server.ports.http!;
    for (const path of ["/session/a/../b/", "/session/a/%2e%2e/b/", "/session/a/.%2E/b/x"]) {
      const walked = await rawRequest(port, {
        host: `127.0.0.1:${port}`,
        path,
        headers: { authorization: `Bearer ${a}` },
      });
      assert.equal(walked.status, 403, `${path} must be judged as session b's`);
    }
    const encoded = await rawRequest(port, {
      host: `127.0.0.1:${port}`,
      path: "/session/a/..%2fb/",
      headers: { authorization: `Bearer ${a}` },
    });
    assert.equal(JSON.parse(encoded.text).id, "a", "an encoded slash stays inside a");

    const ofB = await get(`${base}/session/b/`, { authorization: `Bearer ${b}` });
    assert.equal(JSON.parse(ofB.text).id, "b");

    const pids = server.app.gateway!.list().map((s) => s.pid!);
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.notDeepEqual(livingGroupMembers(pid), []);
    await gateway.close();
    for (const pid of pids) {
      assert.deepEqual(livingGroupMembers(pid), [], `process group ${pid} survived close()`);
    }
  } finally {
    await gateway.close(); // a no-op after the close above
  }
});
