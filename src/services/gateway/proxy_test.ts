import assert from "node:assert/strict";
import { closeProxyConnections, proxyRequest } from "./proxy.ts";
import {
  assertJsonError,
  closedPort,
  deadline,
  headerOf,
  openClient,
  rawGet,
  rawUpstream,
  serve,
  serveProxy,
  upgradeRequest,
  websocketAccept,
  wsUpstream,
} from "./_proxy_testing.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Runs `fn`, then closes the proxy's pooled connections so no socket outlives the test. */
function proxyTest(name: string, fn: () => Promise<void>): void {
  Deno.test(name, async () => {
    try {
      await fn();
    } finally {
      closeProxyConnections();
    }
  });
}

const EMPTY_OK = encoder.encode("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");

proxyTest("proxyRequest() keeps the path, query and session prefix exactly", async () => {
  const upstream = rawUpstream(() => EMPTY_OK);
  const front = serveProxy(upstream.port);
  try {
    const target = "/session/a/src/main.ts?import&t=1712&x=%2F%20y&v=9f1";
    const res = await fetch(front.base + target);
    await res.body?.cancel();
    assert.equal(res.status, 200);
    assert.equal(upstream.heads[0].split("\r\n")[0], `GET ${target} HTTP/1.1`);
  } finally {
    await front.close();
    await upstream.close();
  }
});

proxyTest("proxyRequest() rewrites Host and adds X-Forwarded-For/-Proto/-Host", async () => {
  const upstream = rawUpstream(() => EMPTY_OK);
  const front = serveProxy(upstream.port);
  try {
    await (await fetch(`${front.base}/session/a/`, {
      headers: { "x-forwarded-for": "203.0.113.7" },
    })).body?.cancel();
    const head = upstream.heads[0];
    assert.equal(headerOf(head, "host"), `127.0.0.1:${upstream.port}`);
    assert.equal(headerOf(head, "x-forwarded-host"), `127.0.0.1:${front.port}`);
    assert.equal(headerOf(head, "x-forwarded-proto"), "http");
    assert.equal(headerOf(head, "x-forwarded-for"), "203.0.113.7, 127.0.0.1");

    const res = await proxyRequest(
      new Request("https://gw.example/session/a/"),
      { port: upstream.port },
      { hostHeader: "localhost:5173", forwardedProto: "https" },
    );
    await res.body?.cancel();
    assert.equal(headerOf(upstream.heads[1], "host"), "localhost:5173");
    assert.equal(headerOf(upstream.heads[1], "x-forwarded-host"), "gw.example");

    // Behind a trusted load balancer the host the client asked for is passed on, not ours.
    const behind = await proxyRequest(
      new Request("http://10.0.0.5:4480/session/a/"),
      { port: upstream.port },
      { forwardedHost: "preview.example.com" },
    );
    await behind.body?.cancel();
    assert.equal(headerOf(upstream.heads[2], "x-forwarded-host"), "preview.example.com");
  } finally {
    await front.close();
    await upstream.close();
  }
});

proxyTest("proxyRequest() strips hop-by-hop headers both ways and keeps cookies", async () => {
  const upstream = rawUpstream(() =>
    encoder.encode(
      "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop-Res\r\nKeep-Alive: timeout=5\r\n" +
        "X-Hop-Res: 1\r\nProxy-Authenticate: Basic\r\nTrailer: X-T\r\nX-End: kept\r\n" +
        "Set-Cookie: a=1; Path=/session/a/\r\nSet-Cookie: b=2; HttpOnly\r\n" +
        "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    )
  );
  try {
    const req = new Request(`http://gw.example/session/a/`, {
      headers: {
        "connection": "keep-alive, X-Hop-Req",
        "keep-alive": "timeout=5",
        "x-hop-req": "1",
        "proxy-authorization": "Basic Zm9vOmJhcg==",
        "proxy-connection": "keep-alive",
        "te": "trailers",
        "trailer": "X-T",
        "upgrade": "h2c",
        "cookie": "sid=s1; theme=dark",
        "x-end": "kept",
      },
    });
    const res = await proxyRequest(req, { port: upstream.port });
    assert.equal(await res.text(), "ok");
    const head = upstream.heads[0];
    for (const name of ["x-hop-req", "keep-alive", "proxy-authorization", "proxy-connection"]) {
      assert.equal(headerOf(head, name), null, name);
    }
    for (const name of ["te", "trailer", "upgrade"]) assert.equal(headerOf(head, name), null, name);
    assert.equal(headerOf(head, "cookie"), "sid=s1; theme=dark");
    assert.equal(headerOf(head, "x-end"), "kept");
    for (const name of ["connection", "keep-alive", "x-hop-res", "proxy-authenticate", "trailer"]) {
      assert.equal(res.headers.get(name), null, name);
    }
    assert.equal(res.headers.get("transfer-encoding"), null);
    assert.equal(res.headers.get("x-end"), "kept");
    assert.deepEqual(res.headers.getSetCookie(), ["a=1; Path=/session/a/", "b=2; HttpOnly"]);
  } finally {
    await upstream.close();
  }
});

/**
 * An upstream that sends `first`, then `second` only once `release` resolves, then ends the
 * body if `end`: a response the proxy must pass on before it is complete.
 */
function inTwoParts(
  first: string,
  second: string,
  options: { headers: Record<string, string>; end: boolean },
) {
  const release = Promise.withResolvers<void>();
  const upstream = serve(() =>
    new Response(
      new ReadableStream({
        async start(controller) {
          controller.enqueue(encoder.encode(first));
          await release.promise;
          controller.enqueue(encoder.encode(second));
          if (options.end) controller.close();
        },
      }),
      { headers: options.headers },
    )
  );
  return { upstream, release };
}

proxyTest("proxyRequest() streams a response chunk by chunk", async () => {
  const { upstream, release: firstRead } = inTwoParts("one", "two", {
    headers: { "content-type": "text/plain" },
    end: true,
  });
  const front = serveProxy(upstream.port);
  try {
    const res = await fetch(`${front.base}/session/a/stream`);
    const reader = res.body!.getReader();
    const first = await deadline(reader.read(), "first chunk before the upstream finished");
    assert.equal(decoder.decode(first.value), "one");
    firstRead.resolve();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      rest += decoder.decode(r.value);
    }
    assert.equal(rest, "two");
  } finally {
    firstRead.resolve();
    await front.close();
    await upstream.close();
  }
});

proxyTest("proxyRequest() passes server-sent events through live", async () => {
  const { upstream, release: gotFirst } = inTwoParts("data: first\n\n", "data: second\n\n", {
    headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    end: false,
  });
  const front = serveProxy(upstream.port);
  const source = new EventSource(`${front.base}/session/a/events`);
  try {
    const messages: string[] = [];
    const second = Promise.withResolvers<void>();
    source.onmessage = (e) => {
      messages.push(e.data);
      if (messages.length === 1) gotFirst.resolve();
      if (messages.length === 2) second.resolve();
    };
    await deadline(gotFirst.promise, "first event while the stream stays open");
    await deadline(second.promise, "second event");
    assert.deepEqual(messages, ["first", "second"]);
  } finally {
    source.close();
    gotFirst.resolve();
    await front.close();
    await upstream.close();
  }
});

proxyTest("proxyRequest() streams a request body to the upstream", async () => {
  const firstArrived = Promise.withResolvers<void>();
  const upstream = serve(async (req) => {
    const reader = req.body!.getReader();
    const first = await reader.read();
    firstArrived.resolve();
    let rest = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      rest += decoder.decode(r.value);
    }
    return new Response(`${decoder.decode(first.value)}|${rest}`);
  });
  const front = serveProxy(upstream.port);
  try {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode("a"));
        await deadline(firstArrived.promise, "first chunk upstream before the body ended");
        controller.enqueue(encoder.encode("b"));
        controller.close();
      },
    });
    const res = await fetch(`${front.base}/session/a/upload`, { method: "POST", body });
    assert.equal(await res.text(), "a|b");
  } finally {
    firstArrived.resolve();
    await front.close();
    await upstream.close();
  }
});

proxyTest("proxyRequest() passes a gzip body through byte for byte", async () => {
  const text = "console.log('hello');\n".repeat(50);
  const gzipped = new Uint8Array(
    await new Response(
      new Blob([text]).stream().pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  const upstream = serve(() =>
    new Response(gzipped, {
      headers: { "content-type": "text/javascript", "content-encoding": "gzip" },
    })
  );
  const front = serveProxy(upstream.port);
  try {
    // node:http, because fetch would decode the body and hide what arrived.
    const { headers, body } = await deadline(rawGet(`${front.base}/session/a/app.js`), "response");
    assert.equal(headers["content-encoding"], "gzip");
    assert.deepEqual(body, gzipped);
    if (headers["content-length"]) assert.equal(Number(headers["content-length"]), body.length);
    const decoded = new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip"));
    assert.equal(await new Response(decoded).text(), text);
  } finally {
    await front.close();
    await upstream.close();
  }
});

proxyTest("proxyRequest() returns redirects unfollowed with Location unchanged", async () => {
  const upstream = serve((req) =>
    new URL(req.url).pathname.endsWith("/abs")
      ? Response.redirect("http://127.0.0.1:1/elsewhere", 307)
      : new Response(null, { status: 302, headers: { location: "/session/a/login?next=%2F" } })
  );
  const front = serveProxy(upstream.port);
  try {
    const rel = await fetch(`${front.base}/session/a/`, { redirect: "manual" });
    await rel.body?.cancel();
    assert.equal(rel.status, 302);
    assert.equal(rel.headers.get("location"), "/session/a/login?next=%2F");
    const abs = await fetch(`${front.base}/session/a/abs`, { redirect: "manual" });
    await abs.body?.cancel();
    assert.equal(abs.status, 307);
    assert.equal(abs.headers.get("location"), "http://127.0.0.1:1/elsewhere");
  } finally {
    await front.close();
    await upstream.close();
  }
});

proxyTest("proxyRequest() forwards a WebSocket with its subprotocol and query", async () => {
  const upstream = wsUpstream();
  const front = serveProxy(upstream.port);
  try {
    const url = `ws://127.0.0.1:${front.port}/session/a/?token=t0k3n`;
    const client = await openClient(url, ["vite-hmr", "vite-ping"]);
    assert.equal(client.ws.protocol, "vite-hmr");
    const seen = upstream.requests[0].url;
    assert.equal(seen.pathname + seen.search, "/session/a/?token=t0k3n");
    assert.equal(upstream.requests[0].headers.get("host"), `127.0.0.1:${upstream.port}`);
    assert.equal(upstream.requests[0].headers.get("sec-websocket-protocol"), "vite-hmr, vite-ping");
    client.ws.send('{"type":"ping"}');
    assert.equal(await client.next(), '{"type":"ping"}');
    client.ws.send(new Uint8Array([0, 1, 254, 255]));
    assert.deepEqual(
      new Uint8Array(await client.next() as ArrayBuffer),
      Uint8Array.of(0, 1, 254, 255),
    );
    client.ws.close();
    await client.closed;
  } finally {
    await front.close();
    await upstream.close();
  }
});

proxyTest(
  "proxyRequest() hands onWebSocket the client socket, whose close fires once",
  async () => {
    const upstream = wsUpstream();
    const events: string[] = [];
    const closed = Promise.withResolvers<void>();
    const front = serveProxy(upstream.port, {
      onWebSocket(socket) {
        events.push("open");
        socket.addEventListener("message", (e) => events.push(`message ${e.data}`));
        socket.addEventListener("close", () => {
          events.push("close");
          closed.resolve();
        });
      },
    });
    try {
      const res = await fetch(`${front.base}/session/a/`);
      await res.body?.cancel();
      assert.deepEqual(events, [], "plain HTTP does not call onWebSocket");
      const client = await openClient(`ws://127.0.0.1:${front.port}/session/a/`);
      client.ws.send("hi");
      assert.equal(await client.next(), "hi");
      client.ws.close();
      await client.closed;
      await deadline(closed.promise, "close of the proxied socket");
      assert.deepEqual(events, ["open", "message hi", "close"]);
    } finally {
      await front.close();
      await upstream.close();
    }
  },
);

proxyTest("proxyRequest() propagates WebSocket close codes both ways", async () => {
  const upstream = wsUpstream();
  const front = serveProxy(upstream.port);
  try {
    const url = `ws://127.0.0.1:${front.port}/session/a/`;
    const fromClient = await openClient(url);
    fromClient.ws.close(4001, "bye");
    const seenUpstream = await deadline(upstream.closed, "upstream close");
    assert.deepEqual([seenUpstream.code, seenUpstream.reason], [4001, "bye"]);

    for (const [code, reason] of [[1011, "boom"], [4002, "later"]] as const) {
      const fromUpstream = await openClient(url);
      fromUpstream.ws.send(`close:${code}:${reason}`);
      const seenClient = await fromUpstream.closed;
      assert.deepEqual([seenClient.code, seenClient.reason], [code, reason]);
    }
  } finally {
    await front.close();
    await upstream.close();
  }
});

proxyTest("proxyRequest() reports an upstream that drops a WebSocket as unclean", async () => {
  const upstream = rawUpstream(async (head, conn) => {
    const accept = await websocketAccept(headerOf(head, "sec-websocket-key")!);
    await conn.write(encoder.encode(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    ));
    await conn.read(new Uint8Array(1024));
    return null; // Closing the TCP connection without a close frame.
  });
  const front = serveProxy(upstream.port);
  try {
    const client = await openClient(`ws://127.0.0.1:${front.port}/session/a/`);
    client.ws.send("hi");
    const closed = await client.closed;
    assert.equal(closed.wasClean, false);
  } finally {
    await front.close();
    await upstream.close();
  }
});

proxyTest("proxyRequest() answers 502 ERR_UPSTREAM_DOWN when nothing listens", async () => {
  const port = closedPort();
  const front = serveProxy(port);
  try {
    await assertJsonError(await fetch(`${front.base}/session/a/`), 502, "ERR_UPSTREAM_DOWN");
    const res = await proxyRequest(upgradeRequest("/session/a/"), { port });
    await assertJsonError(res, 502, "ERR_UPSTREAM_DOWN");
    assert.equal(res.headers.get("upgrade"), null);
  } finally {
    await front.close();
  }
});

proxyTest(
  "proxyRequest() answers 502 ERR_UPSTREAM_REFUSED when the upstream rejects a WebSocket",
  async () => {
    const upstream = serve(() => new Response("Invalid host", { status: 403 }));
    try {
      const res = await proxyRequest(upgradeRequest("/session/a/"), { port: upstream.port });
      await assertJsonError(res, 502, "ERR_UPSTREAM_REFUSED");
    } finally {
      await upstream.close();
    }
  },
);

proxyTest(
  "proxyRequest() answers 504 ERR_UPSTREAM_TIMEOUT when the upstream is silent",
  async () => {
    const upstream = rawUpstream(() => new Promise<null>(() => {}));
    try {
      const http = await proxyRequest(new Request("http://gw.example/session/a/"), upstream, {
        timeoutMs: 100,
      });
      await assertJsonError(http, 504, "ERR_UPSTREAM_TIMEOUT");
      const ws = await proxyRequest(upgradeRequest("/session/a/"), upstream, { timeoutMs: 100 });
      await assertJsonError(ws, 504, "ERR_UPSTREAM_TIMEOUT");
    } finally {
      await upstream.close();
    }
  },
);

proxyTest("proxyRequest() aborts the upstream request when the client goes away", async () => {
  const started = Promise.withResolvers<void>();
  const aborted = Promise.withResolvers<void>();
  const upstream = serve(async (req) => {
    req.signal.addEventListener("abort", () => aborted.resolve());
    started.resolve();
    await aborted.promise;
    return new Response("too late");
  });
  const front = serveProxy(upstream.port);
  try {
    const controller = new AbortController();
    const res = fetch(`${front.base}/session/a/slow`, { signal: controller.signal });
    await deadline(started.promise, "upstream request");
    controller.abort();
    await assert.rejects(res);
    await deadline(aborted.promise, "upstream request aborted");
  } finally {
    aborted.resolve();
    await front.close();
    await upstream.close();
  }
});

proxyTest("proxyRequest() answers 499 and aborts upstream when its signal fires", async () => {
  const started = Promise.withResolvers<void>();
  const aborted = Promise.withResolvers<void>();
  const upstream = serve(async (req) => {
    req.signal.addEventListener("abort", () => aborted.resolve());
    started.resolve();
    await aborted.promise;
    return new Response("too late");
  });
  try {
    const controller = new AbortController();
    const res = proxyRequest(new Request("http://gw.example/session/a/"), upstream, {
      signal: controller.signal,
    });
    await deadline(started.promise, "upstream request");
    controller.abort();
    await assertJsonError(await res, 499, "ERR_CLIENT_CLOSED");
    await deadline(aborted.promise, "upstream request aborted");
  } finally {
    aborted.resolve();
    await upstream.close();
  }
});

/** An upstream whose event stream sends one event and never ends; `cancelled` once it is cut. */
function endlessEvents() {
  const cancelled = Promise.withResolvers<void>();
  const upstream = serve(() =>
    new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(encoder.encode("data: 1\n\n"));
        },
        cancel() {
          cancelled.resolve();
        },
      }),
      { headers: { "content-type": "text/event-stream" } },
    )
  );
  return { upstream, cancelled };
}

proxyTest("proxyRequest() cancels the upstream body when the client stops reading", async () => {
  const { upstream, cancelled } = endlessEvents();
  const front = serveProxy(upstream.port);
  try {
    const res = await fetch(`${front.base}/session/a/events`);
    const reader = res.body!.getReader();
    await deadline(reader.read(), "first event");
    await reader.cancel();
    await deadline(cancelled.promise, "upstream stream cancelled");
  } finally {
    await front.close();
    await upstream.close();
  }
});

proxyTest(
  "proxyRequest() ends the client's response in error when the upstream dies mid-body",
  async () => {
    const upstream = rawUpstream(() =>
      encoder.encode(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\npart",
      )
    );
    const front = serveProxy(upstream.port);
    try {
      const res = await fetch(`${front.base}/session/a/big.js`);
      assert.equal(res.status, 200);
      await assert.rejects(deadline(res.text(), "truncated body"));
    } finally {
      await front.close();
      await upstream.close();
    }
  },
);

proxyTest("proxyRequest() ends a streaming body when its signal fires", async () => {
  const { upstream, cancelled } = endlessEvents();
  const stop = new AbortController();
  const front = serveProxy(upstream.port, { signal: stop.signal });
  try {
    const res = await fetch(`${front.base}/session/a/events`);
    const reader = res.body!.getReader();
    assert.equal(
      decoder.decode((await deadline(reader.read(), "first event")).value),
      "data: 1\n\n",
    );
    stop.abort();
    await deadline(cancelled.promise, "upstream stream cancelled");
    await assert.rejects(deadline(reader.read(), "client's body ended in error"));
  } finally {
    await front.close();
    await upstream.close();
  }
});
