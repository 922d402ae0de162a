/**
 * Subdomain routing of the session gateway inside a real Switchyard: `{id}.localhost:PORT`
 * is wholly session `id`'s (every path, `/switchyard/…` included, WebSockets with their
 * subprotocol, no origin check of ours), its token link sets a host-only cookie, another
 * session's token never opens it, and every other host still gets the app. Deno's `fetch`
 * always sends the URL's host, so the Deno side speaks raw HTTP with the `Host` it needs;
 * Chromium resolves `*.localhost` to loopback by itself.
 *
 * @module
 */

import assert from "node:assert/strict";
import { launchBrowser } from "./_browser.ts";
import { deadline } from "./_deadline.ts";
import { rawRequest, rawWebSocket } from "./_raw_http.ts";
import { startGatewayServer } from "./_gateway_server.ts";

/**
 * A dev server with base `/`: an HTML page whose script opens a WebSocket with subprotocol
 * `vite-hmr` on its own origin, and JSON of what reached it for anything else.
 */
const DEV_SERVER = `
const [port, id] = Deno.args;
const PAGE = \`<!doctype html><title>session \${id}</title><script type="module">
const socket = new WebSocket("ws://" + location.host + "/switchyard/ws?from=page", "vite-hmr");
socket.onmessage = (e) => { window.result = { ...JSON.parse(e.data), chosen: socket.protocol }; };
socket.onerror = () => { window.result = { error: true }; };
</script>\`;
Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen() {} }, (req) => {
  const url = new URL(req.url);
  const seen = {
    id,
    path: url.pathname,
    search: url.search,
    cookie: req.headers.get("cookie"),
    authorization: req.headers.get("authorization"),
    forwardedHost: req.headers.get("x-forwarded-host"),
  };
  if (req.headers.get("upgrade") === "websocket") {
    const offered = req.headers.get("sec-websocket-protocol")?.split(",")[0].trim();
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol: offered });
    socket.onopen = () => socket.send(JSON.stringify({ ...seen, protocol: offered }));
    return response;
  }
  if ((req.headers.get("accept") ?? "").includes("text/html")) {
    return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
  }
  return Response.json(seen);
});
`;

Deno.test("Switchyard [gateway] routing = subdomain gives each session its own host", async () => {
  const gateway = await startGatewayServer({
    session: DEV_SERVER,
    top: 'allowed_origins = ["https://app.example.com"]',
    gateway: 'max_sessions = 3\nrouting = "subdomain"\nsubdomain_suffix = "localhost"',
  });
  const { server } = gateway;
  const token = (sessions: string[]) => gateway.token({ sessions });
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  try {
    const port = server.app.server.ports.http!;
    const hostA = `a.localhost:${port}`;
    const [a, b] = await Promise.all([token(["a"]), token(["b"])]);
    const onA = (path: string, headers: Record<string, string> = {}) =>
      rawRequest(port, { host: hostA, path, headers });

    const none = await onA("/");
    assert.equal(none.status, 401);
    assert.equal(JSON.parse(none.text).error, "ERR_UNAUTHORIZED");

    const link = await onA(`/app?x=1&token=${a}`);
    assert.equal(link.status, 303);
    assert.equal(link.headers.get("location"), "/app?x=1");
    assert.equal(
      link.headers.get("set-cookie"),
      `sy_session_a=${a}; Path=/; HttpOnly; SameSite=Lax`,
      "host-only (no Domain), for every path of the session's host",
    );
    const cookie = `theme=dark; sy_session_a=${a}`;

    const opened = await onA("/app?x=1", { cookie });
    assert.equal(opened.status, 200, opened.text);
    assert.deepEqual(JSON.parse(opened.text), {
      id: "a",
      path: "/app",
      search: "?x=1",
      cookie: "theme=dark",
      authorization: null,
      forwardedHost: hostA,
    });
    for (const path of ["/", "/switchyard/client.js", "/switchyard/bootstrap.json", "/healthz"]) {
      const res = await onA(path, { authorization: `Bearer ${a}` });
      assert.equal(res.status, 200, path);
      const seen = JSON.parse(res.text);
      assert.equal(seen.path, path, "the session's, path unchanged, not the server's own route");
      assert.equal(seen.authorization, null);
    }
    const upper = await rawRequest(port, {
      host: `A.LOCALHOST:${port}`,
      path: "/",
      headers: { cookie },
    });
    assert.equal(JSON.parse(upper.text).id, "a", "host names are case-insensitive");

    const wrong: Record<string, string>[] = [
      { authorization: `Bearer ${b}` },
      { cookie: `sy_session_a=${b}` },
    ];
    for (const headers of wrong) {
      const refused = await onA("/", headers);
      assert.equal(refused.status, 403, JSON.stringify(headers));
      assert.equal(JSON.parse(refused.text).error, "ERR_FORBIDDEN");
    }
    assert.equal((await onA(`/?token=${b}`)).status, 403);
    assert.equal((await onA("/", { cookie: `sy_session_b=${b}` })).status, 401);
    assert.equal(
      (await rawRequest(port, { host: `b.localhost:${port}`, path: "/", headers: { cookie } }))
        .status,
      401,
      "a's cookie does not open b",
    );

    // allowed_origins names another site: the session's own page must still get its socket.
    const socket = await rawWebSocket(port, {
      host: hostA,
      path: "/switchyard/ws?v=1",
      protocols: ["vite-hmr", "other"],
      headers: { cookie, origin: `http://${hostA}` },
    });
    assert.equal(socket.status, 101, socket.text);
    assert.equal(socket.headers.get("sec-websocket-protocol"), "vite-hmr");
    const greeting = JSON.parse(socket.first!);
    assert.equal(greeting.path, "/switchyard/ws");
    assert.equal(greeting.search, "?v=1");
    assert.equal(greeting.protocol, "vite-hmr");
    assert.equal(greeting.cookie, "theme=dark");
    const refusedSocket = await rawWebSocket(port, {
      host: hostA,
      path: "/hmr",
      protocols: ["vite-hmr"],
      headers: { cookie: `sy_session_a=${b}` },
    });
    assert.equal(refusedSocket.status, 403);

    // Every other host is the app, whose origin policy still applies.
    const main = `127.0.0.1:${port}`;
    const bundle = await rawRequest(port, { host: main, path: "/switchyard/client.js" });
    assert.equal(bundle.status, 200);
    assert.match(bundle.headers.get("content-type") ?? "", /javascript/);
    const sse = await rawRequest(port, {
      host: main,
      path: "/switchyard/sse",
      headers: { origin: `http://${hostA}` },
    });
    assert.equal(sse.status, 403);
    assert.equal(JSON.parse(sse.text).error, "ERR_FORBIDDEN_ORIGIN");
    const byPath = await rawRequest(port, { host: main, path: "/session/a/", headers: { cookie } });
    assert.equal(byPath.status, 404, "no /session/ routes: sessions never share our origin");
    assert.match(JSON.parse(byPath.text).message, /its own host, \{id\}\.localhost$/);
    const suffixItself = await rawRequest(port, { host: `localhost:${port}`, path: "/healthz" });
    assert.deepEqual(JSON.parse(suffixItself.text), { status: "ok" });

    // A real browser: the token link, the cookie it leaves, and the page's own WebSocket.
    browser = await launchBrowser(["--host-resolver-rules=MAP *.localhost 127.0.0.1"]);
    const context = await browser.newContext();
    const page = await context.newPage();
    const landed = await page.goto(`http://${hostA}/?token=${a}`);
    assert.equal(landed?.status(), 200);
    assert.equal(page.url(), `http://${hostA}/`, "the token is gone from the address bar");
    await deadline(
      page.waitForFunction(() => (globalThis as { result?: unknown }).result !== undefined),
      20_000,
      "the page's WebSocket through the subdomain",
    );
    const result = await page.evaluate(() => (globalThis as { result?: unknown }).result);
    assert.deepEqual(
      result,
      {
        id: "a",
        path: "/switchyard/ws",
        search: "?from=page",
        cookie: null,
        authorization: null,
        forwardedHost: hostA,
        protocol: "vite-hmr",
        chosen: "vite-hmr",
      },
    );
    const cookies = await context.cookies();
    assert.deepEqual(
      cookies.map((c) => [c.name, c.domain, c.path, c.httpOnly, c.sameSite]),
      [["sy_session_a", "a.localhost", "/", true, "Lax"]],
    );
    const other = await page.goto(`http://b.localhost:${port}/`);
    assert.equal(other?.status(), 401, "the browser sends a's cookie to a's host only");
  } finally {
    await browser?.close();
    await gateway.close();
  }
});
