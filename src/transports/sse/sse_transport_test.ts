import assert from "node:assert/strict";
import { deadline, eventually, type SseClient, withServer } from "../../http/_testing.ts";

async function sse(env: Parameters<Parameters<typeof withServer>[1]>[0], origin?: string) {
  return await env.connect("sse", { origin }) as SseClient;
}

Deno.test("GET /switchyard/sse streams an open event with a 128-bit connection id first", async () => {
  await withServer({}, async (env) => {
    const client = await sse(env);
    assert.match(client.conn, /^[0-9a-f]{32}$/);
    const h = client.response.headers;
    assert.equal(h.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(h.get("cache-control"), "no-store");
    assert.equal(h.get("x-accel-buffering"), "no");
    assert.equal(h.get("x-content-type-options"), "nosniff");
    const other = await sse(env);
    assert.notEqual(other.conn, client.conn);
    await client.close();
    await other.close();
  });
});

Deno.test("POST /switchyard/sse/{conn} handles every line of the body in order", async () => {
  await withServer({}, async (env) => {
    const client = await sse(env);
    const body = [
      JSON.stringify({ type: "connect", id: 1 }),
      "",
      JSON.stringify({ type: "subscribe", id: 2, channel: "c" }) + "\r",
      JSON.stringify({ type: "publish", id: 3, seq: 1, channel: "c", data: 1 }),
      JSON.stringify({ type: "publish", id: 4, seq: 2, channel: "c", data: 2 }),
    ].join("\n");
    const res = await client.post(body);
    assert.equal(res.status, 204);
    assert.equal((await client.next()).type, "connected");
    const replies: unknown[] = [];
    const pubs: unknown[] = [];
    while (replies.length < 3 || pubs.length < 2) {
      const f = await client.next();
      if (f.type === "reply") replies.push(f.id);
      if (f.type === "pub") pubs.push(f.data);
    }
    assert.deepEqual(replies, [2, 3, 4]);
    assert.deepEqual(pubs, [1, 2]);
    assert.deepEqual(client.ids.slice(0, 3), [1, 2, 3]);
    await client.close();
  });
});

Deno.test("POST /switchyard/sse/{conn} answers 404 for an unknown or closed connection", async () => {
  await withServer({}, async (env) => {
    const client = await sse(env);
    for (const conn of ["0".repeat(32), "not-hex", ""]) {
      const res = await client.post('{"type":"ping"}', conn);
      assert.equal(res.status, 404, conn);
      assert.equal((await res.json()).error, "ERR_NOT_FOUND");
    }
    const conn = client.conn;
    await client.close();
    await eventually(() => env.hub.connectionCount === 0, 3000, "hub sees the client leave");
    const res = await client.post('{"type":"ping"}', conn);
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });
});

Deno.test("POST /switchyard/sse/{conn} refuses a body over 16 × maxMessageBytes with 413", async () => {
  await withServer({ limits: { maxMessageBytes: 100 } }, async (env) => {
    const client = await sse(env);
    await client.handshake();
    const line = JSON.stringify({ type: "ping", p: "x".repeat(60) });
    const res = await client.post((line + "\n").repeat(30));
    assert.equal(res.status, 413);
    assert.equal((await res.json()).error, "ERR_MESSAGE_TOO_LARGE");
    const d = await client.expect("disconnect");
    assert.equal(d.code, 3501);
    assert.equal((await deadline(client.closed, 3000, "stream end")).code, 3501);
  });
});

Deno.test("POST /switchyard/sse/{conn} refuses a body that is not UTF-8 with 400", async () => {
  await withServer({}, async (env) => {
    const client = await sse(env);
    await client.handshake();
    const res = await client.post(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d]));
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error, "ERR_BAD_FRAME");
    assert.equal((await deadline(client.closed, 3000, "stream end")).code, 3500);
  });
});

Deno.test("SSE with a refused Origin gets 403 JSON on GET and POST", async () => {
  await withServer({ allowedOrigins: ["https://app.example"] }, async (env) => {
    const res = await fetch(`${env.base}/switchyard/sse`, {
      client: env.client,
      headers: { origin: "https://evil.example" },
    });
    assert.equal(res.status, 403);
    const body = await res.json();
    assert.equal(body.error, "ERR_FORBIDDEN_ORIGIN");
    assert.match(body.message, /evil\.example.*allowed_origins/);
    assert.equal(res.headers.get("access-control-allow-origin"), null);

    const client = await sse(env, "https://app.example");
    assert.equal(client.response.headers.get("access-control-allow-origin"), "https://app.example");
    const post = await client.post(
      '{"type":"connect","id":1}',
      client.conn,
      "https://evil.example",
    );
    assert.equal(post.status, 403);
    await post.body?.cancel();
    const ok = await client.post('{"type":"connect","id":1}');
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get("access-control-allow-origin"), "https://app.example");
    assert.equal((await client.next()).type, "connected");
    await client.close();
  });
});

Deno.test("OPTIONS preflight on SSE POST answers allowed origins only", async () => {
  await withServer({ allowedOrigins: ["https://app.example"] }, async (env) => {
    const url = `${env.base}/switchyard/sse/${"a".repeat(32)}`;
    const ok = await fetch(url, {
      method: "OPTIONS",
      client: env.client,
      headers: {
        origin: "https://app.example",
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get("access-control-allow-origin"), "https://app.example");
    assert.match(ok.headers.get("access-control-allow-methods")!, /POST/);
    assert.equal(ok.headers.get("access-control-allow-headers"), "content-type");
    await ok.body?.cancel();
    const refused = await fetch(url, {
      method: "OPTIONS",
      client: env.client,
      headers: { origin: "https://evil.example", "access-control-request-method": "POST" },
    });
    assert.equal(refused.status, 403);
    await refused.body?.cancel();
  });
});

Deno.test("SseTransport sends a keep-alive comment when idle", async () => {
  await withServer({ sseKeepAliveMs: 60 }, async (env) => {
    const client = await sse(env);
    await eventually(() => client.comments.length >= 2, 3000, "two keep-alives");
    assert.equal(client.comments[0], ": keep-alive");
    await client.close();
  });
});

Deno.test("SseTransport tells the hub when the client leaves", async () => {
  await withServer({}, async (env) => {
    const client = await sse(env);
    await client.handshake();
    assert.equal(env.hub.connectionCount, 1);
    await client.close();
    await eventually(() => env.hub.connectionCount === 0, 3000, "hub sees the close");
  });
});

Deno.test("SSE over the plain-HTTP port works", async () => {
  await withServer({ httpPort: 0 }, async (env) => {
    const base = env.server.httpUrl!.replace("localhost", "127.0.0.1");
    const client = await env.connect("sse", { base });
    await client.handshake();
    await client.close();
  });
});
