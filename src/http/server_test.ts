import assert from "node:assert/strict";
import type { Hub } from "../core/mod.ts";
import { CertificateManager, type LeafCertificate } from "../tls/mod.ts";
import { deadline, memoryLogger, withServer, WsClient, WtClient } from "./_testing.ts";
import type { CertificateSource } from "./server.ts";
import { PortInUseError } from "./ports.ts";
import { startServer } from "./server.ts";
import { rawRequest } from "../../test/_raw_http.ts";

async function get(url: string, client: Deno.HttpClient, headers: Record<string, string> = {}) {
  const res = await fetch(url, { client, headers });
  const text = await res.text();
  return { res, text, json: () => JSON.parse(text) };
}

Deno.test("GET /healthz and /readyz answer 200 with security headers", async () => {
  await withServer({}, async (env) => {
    for (const path of ["/healthz", "/readyz"]) {
      const { res, json } = await get(env.base + path, env.client);
      assert.equal(res.status, 200);
      assert.deepEqual(json(), { status: "ok" });
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("x-frame-options"), "SAMEORIGIN");
      assert.equal(res.headers.get("referrer-policy"), "strict-origin-when-cross-origin");
    }
    const missing = await get(env.base + "/nothing", env.client);
    assert.equal(missing.res.status, 404);
    assert.equal(missing.json().error, "ERR_NOT_FOUND");
    assert.equal(missing.res.headers.get("x-content-type-options"), "nosniff");
  });
});

Deno.test("GET /readyz answers 503 once close() has begun", async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  const wrapHub = (hub: Hub) => ({
    open: hub.open.bind(hub),
    stats: hub.stats,
    shutdown: async () => {
      await held;
      await hub.shutdown();
    },
  });
  await withServer({ wrapHub }, async (env) => {
    const closing = env.server.close();
    assert.equal(env.server.ready, false);
    const { res, json } = await get(env.base + "/readyz", env.client);
    assert.equal(res.status, 503);
    assert.deepEqual(json(), { status: "shutting_down" });
    assert.equal((await get(env.base + "/healthz", env.client)).res.status, 200);
    release();
    await closing;
  });
});

Deno.test("GET /switchyard/bootstrap.json describes every transport for the requested host", async () => {
  await withServer({ httpPort: 0 }, async (env) => {
    const port = env.server.ports.https!;
    const quic = env.server.quicPort!;
    assert.equal(quic, port, "QUIC takes the HTTPS port number");
    const { res, json } = await get(`${env.base}/switchyard/bootstrap.json`, env.client);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.deepEqual(json(), {
      version: "0.1.0",
      maxMessageBytes: 1024,
      transports: {
        webtransport: {
          url: `https://127.0.0.1:${quic}/switchyard/wt`,
          certificateHashes: [env.certs.current.hash.base64],
        },
        websocket: { url: `wss://127.0.0.1:${port}/switchyard/ws` },
        sse: { url: `https://127.0.0.1:${port}/switchyard/sse` },
      },
    });
    const httpPort = env.server.ports.http!;
    const plain = (await get(`http://localhost:${httpPort}/switchyard/bootstrap.json`, env.client))
      .json();
    // A page on localhost is sent to the address the QUIC socket is bound to (see bootstrap.ts).
    assert.equal(plain.transports.webtransport.url, `https://127.0.0.1:${quic}/switchyard/wt`);
    assert.equal(plain.transports.websocket.url, `ws://localhost:${httpPort}/switchyard/ws`);
    assert.equal(plain.transports.sse.url, `http://localhost:${httpPort}/switchyard/sse`);
  });
});

Deno.test("bootstrap.json has CORS headers for allowed origins only", async () => {
  await withServer({ allowedOrigins: ["https://app.example"] }, async (env) => {
    const url = `${env.base}/switchyard/bootstrap.json`;
    const ok = await get(url, env.client, { origin: "https://app.example" });
    assert.equal(ok.res.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal(ok.res.headers.get("vary"), "Origin");
    const no = await get(url, env.client, { origin: "https://evil.example" });
    assert.equal(no.res.status, 200);
    assert.equal(no.res.headers.get("access-control-allow-origin"), null);
  });
});

Deno.test("HttpServer.addRoute() serves below a prefix; fallback answers the rest", async () => {
  await withServer({ fallback: () => new Response("fallback", { status: 418 }) }, async (env) => {
    env.server.addRoute("GET", "/static/", (_req, ctx) => new Response(`static ${ctx.rest}`));
    env.server.addRoute(
      "GET",
      "/framed",
      () => new Response("x", { headers: { "x-frame-options": "DENY" } }),
    );
    env.server.addRoute("GET", "/immutable", () => Response.redirect("https://example.com/", 302));
    const s = await get(`${env.base}/static/a/b.js`, env.client);
    assert.equal(s.text, "static /a/b.js");
    assert.equal(s.res.headers.get("x-content-type-options"), "nosniff");
    const f = await get(`${env.base}/framed`, env.client);
    assert.equal(f.res.headers.get("x-frame-options"), "DENY", "a route's own header wins");
    const r = await fetch(`${env.base}/immutable`, { client: env.client, redirect: "manual" });
    await r.body?.cancel();
    assert.equal(r.status, 302);
    assert.equal(r.headers.get("x-content-type-options"), "nosniff");
    const fb = await get(`${env.base}/elsewhere`, env.client);
    assert.equal(fb.res.status, 418);
    assert.equal(fb.text, "fallback");
  });
});

Deno.test("HttpServer.addHostRoute() takes its hosts ahead of every route, origin checks included", async () => {
  await withServer(
    { tls: false, certificates: undefined, allowedOrigins: ["https://app.example"] },
    async (env) => {
      env.server.addRoute("GET", "/static/", () => new Response("static"));
      const hosts: string[] = [];
      env.server.addHostRoute(
        (host) => host.toLowerCase().startsWith("own.example"),
        (req, ctx) => {
          hosts.push(ctx.host);
          return new Response(`own ${req.method} ${ctx.url.pathname}`);
        },
      );
      const port = env.server.ports.http!;
      for (const path of ["/static/x", "/healthz", "/switchyard/ws", "/"]) {
        const res = await rawRequest(port, {
          host: "OWN.example:81",
          path,
          headers: { origin: "https://elsewhere.example" },
        });
        assert.equal(res.status, 200, path);
        assert.equal(res.text, `own GET ${path}`);
        assert.equal(res.headers.get("x-content-type-options"), "nosniff");
        assert.equal(res.headers.get("access-control-allow-origin"), null);
      }
      assert.deepEqual(hosts.at(-1), "OWN.example:81", "the host as sent, port included");
      const other = await rawRequest(port, { host: "app.example", path: "/static/x" });
      assert.equal(other.text, "static");
      // Without trustProxy, X-Forwarded-Host is the client's word and routes nothing.
      const spoofed = await get(`${env.base}/static/x`, env.client, {
        "x-forwarded-host": "own.example",
      });
      assert.equal(spoofed.text, "static");
    },
  );
  await withServer({ tls: false, certificates: undefined, trustProxy: true }, async (env) => {
    env.server.addHostRoute(
      (host) => host === "own.example",
      (_req, ctx) => new Response(ctx.host),
    );
    const proxied = await get(`${env.base}/healthz`, env.client, {
      "x-forwarded-host": "own.example",
    });
    assert.equal(proxied.text, "own.example", "a trusted proxy's X-Forwarded-Host decides");
    assert.equal(JSON.parse((await get(`${env.base}/healthz`, env.client)).text).status, "ok");
  });
});

Deno.test("startServer() takes the next port when the TCP port is in use", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = blocker.addr.port;
  try {
    await withServer({ port: taken }, async (env) => {
      const port = env.server.ports.https!;
      assert.ok(port > taken && port < taken + 20);
      assert.equal(env.server.quicPort, port);
      assert.ok(
        env.log.lines.some((l) =>
          l.level === "warn" && l.msg === `Port ${taken} is in use: serving on ${port} instead`
        ),
      );
      assert.equal((await get(env.base + "/healthz", env.client)).res.status, 200);
    });
  } finally {
    blocker.close();
  }
});

Deno.test("startServer() takes the next port when the UDP port is in use", async () => {
  const blocker = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  const taken = (blocker.addr as Deno.NetAddr).port;
  try {
    await withServer({ port: taken }, async (env) => {
      const port = env.server.ports.https!;
      assert.notEqual(port, taken);
      assert.equal(env.server.quicPort, port);
      const client = await env.connect("webtransport");
      await client.handshake();
      await client.close();
    });
  } finally {
    blocker.close();
  }
});

Deno.test("startServer() with strictPort throws when the port is in use", async () => {
  const blocker = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const taken = blocker.addr.port;
  const dir = await Deno.makeTempDir();
  try {
    const certificates = await CertificateManager.open({ dir });
    await assert.rejects(
      startServer({
        hub: { open: () => assert.fail(), stats: {} as never, shutdown: () => Promise.resolve() },
        hostname: "127.0.0.1",
        port: taken,
        strictPort: true,
        certificates,
        log: memoryLogger(),
      }),
      (e: PortInUseError) =>
        e instanceof PortInUseError &&
        e.message === `Port ${taken} is in use: stop the other process or pass --port`,
    );
  } finally {
    blocker.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startServer() with tls: false serves plain HTTP on port only", async () => {
  await withServer({ tls: false, certificates: undefined, httpPort: 0 }, async (env) => {
    assert.equal(env.server.httpsUrl, undefined);
    assert.equal(env.server.quicPort, undefined);
    assert.deepEqual(Object.keys(env.server.ports).filter((k) => env.server.ports[k as "http"]), [
      "http",
    ]);
    const doc = (await get(`${env.base}/switchyard/bootstrap.json`, env.client)).json();
    assert.equal(doc.transports.webtransport, undefined);
    assert.match(doc.transports.websocket.url, /^ws:\/\//);
    for (const kind of ["websocket", "sse"] as const) {
      const c = await env.connect(kind);
      await c.handshake();
      await c.close();
    }
  });
});

Deno.test("startServer() with trustProxy builds URLs from X-Forwarded-* headers", async () => {
  await withServer({ tls: false, certificates: undefined, trustProxy: true }, async (env) => {
    const doc = (await get(`${env.base}/switchyard/bootstrap.json`, env.client, {
      "x-forwarded-proto": "https",
      "x-forwarded-host": "rt.example",
    })).json();
    assert.equal(doc.transports.websocket.url, "wss://rt.example/switchyard/ws");
    assert.equal(doc.transports.sse.url, "https://rt.example/switchyard/sse");
  });
});

Deno.test("HttpServer.close() resolves within its timeout even when a request hangs", async () => {
  await withServer({}, async (env) => {
    let release!: () => void;
    const held = new Promise<void>((r) => release = r);
    env.server.addRoute("GET", "/hang", async () => {
      await held;
      return new Response("late");
    });
    const pending = fetch(`${env.base}/hang`, { client: env.client });
    await deadline(
      (async () => {
        while (!(await get(env.base + "/healthz", env.client)).res.ok);
      })(),
      3000,
      "server up",
    );
    const started = performance.now();
    const closing = env.server.close({ timeoutMs: 300 });
    assert.equal(env.server.close(), closing, "close() twice returns the same promise");
    await deadline(closing, 2000, "close() past its timeout");
    assert.ok(performance.now() - started < 1500);
    release();
    await (await pending).body?.cancel();
    await deadline(env.server.finished, 3000, "finished");
  });
});

Deno.test("HttpServer.close() frees the TCP ports", async () => {
  let ports: number[] = [];
  await withServer({ httpPort: 0 }, async (env) => {
    ports = [env.server.ports.https!, env.server.ports.http!];
    await env.server.close();
    await env.server.finished;
  });
  // The UDP port stays bound until the process exits: Deno 2.9's QuicEndpoint.close() does not
  // release quinn's socket.
  for (const port of ports) Deno.listen({ hostname: "127.0.0.1", port }).close();
});

/** A certificate source the test renews by hand. */
class HandRenewed implements CertificateSource {
  current: LeafCertificate;
  hashes: { base64: string }[];
  #listeners = new Set<() => void | Promise<void>>();

  constructor(leaf: LeafCertificate) {
    this.current = leaf;
    this.hashes = [leaf.hash];
  }

  onRenew(listener: () => void | Promise<void>) {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async renew(next: LeafCertificate): Promise<void> {
    this.hashes = [next.hash, this.current.hash];
    this.current = next;
    for (const l of this.#listeners) await l();
  }
}

Deno.test("A certificate renewal swaps TLS and QUIC certificates without dropping plain HTTP", async () => {
  const firstDir = await Deno.makeTempDir();
  const secondDir = await Deno.makeTempDir();
  const first = await CertificateManager.open({ dir: firstDir });
  const second = await CertificateManager.open({ dir: secondDir });
  const trustsFirst = Deno.createHttpClient({ caCerts: [first.caCertPem] });
  const trustsSecond = Deno.createHttpClient({ caCerts: [second.caCertPem] });
  const source = new HandRenewed(first.current);
  try {
    await withServer({ httpPort: 0, certificates: source }, async (env) => {
      const httpBase = env.server.httpUrl!.replace("localhost", "127.0.0.1");
      // a: WebSocket over TLS; b: WebSocket over plain HTTP; c: WebTransport.
      const tlsWs = new WebSocket(`${env.base.replace("https", "wss")}/switchyard/ws`, {
        client: trustsFirst,
      });
      const a = new WsClient(tlsWs);
      await deadline(new Promise((r) => tlsWs.onopen = r), 3000, "wss open");
      await a.handshake();
      const b = await env.connect("websocket", { base: httpBase });
      await b.handshake();
      const wtUrl = `https://127.0.0.1:${env.server.quicPort}/switchyard/wt`;
      const oldWt = new WebTransport(wtUrl, {
        serverCertificateHashes: [{ algorithm: "sha-256", value: first.current.hash.value }],
      });
      await deadline(oldWt.ready, 3000, "old WebTransport");
      const c = new WtClient(oldWt);
      await c.open();
      await c.handshake();

      await deadline(source.renew(second.current), 5000, "renewal");

      const d = await a.expect("disconnect");
      assert.equal(d.code, 3000);
      assert.equal(d.error, "ERR_SHUTDOWN");
      assert.match(d.reason as string, /certificate/);
      assert.equal((await deadline(a.closed, 3000, "wss closed")).code, 3000);
      for (const alive of [b, c]) {
        await alive.send({ type: "ping" });
        assert.equal((await alive.next()).type, "pong", alive.kind);
      }
      assert.equal((await get(env.base + "/healthz", trustsSecond)).res.status, 200);
      const fresh = Deno.createHttpClient({ caCerts: [first.caCertPem] });
      await assert.rejects(fetch(env.base + "/healthz", { client: fresh }));
      fresh.close();
      const newWt = new WebTransport(wtUrl, {
        serverCertificateHashes: [{ algorithm: "sha-256", value: second.current.hash.value }],
      });
      await deadline(newWt.ready, 3000, "new WebTransport");
      newWt.close();
      await newWt.closed.catch(() => {});
      const doc = (await get(`${httpBase}/switchyard/bootstrap.json`, env.client)).json();
      assert.deepEqual(doc.transports.webtransport.certificateHashes, [
        second.current.hash.base64,
        first.current.hash.base64,
      ]);
      await b.close();
      await c.close();
    });
  } finally {
    trustsFirst.close();
    trustsSecond.close();
    await Deno.remove(firstDir, { recursive: true });
    await Deno.remove(secondDir, { recursive: true });
  }
});
