/**
 * The contract every transport keeps, run against each one through the real
 * HTTP server and a real hub.
 */

import assert from "node:assert/strict";
import { TRANSPORT_KINDS, type TransportKind } from "../core/mod.ts";
import {
  deadline,
  eventually,
  type SseClient,
  type TestClient,
  withServer,
  type WtClient,
} from "../http/_testing.ts";

const MAX = 1024;

/** Send `n` bytes of frame that the hub would otherwise accept, one byte over the limit. */
async function sendOversized(client: TestClient): Promise<void> {
  const frame = JSON.stringify({ type: "ping", pad: "x".repeat(MAX) }).slice(0, MAX + 1);
  if (client.kind === "webtransport") {
    // Only the length prefix: the server must refuse before the body arrives.
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, MAX + 1);
    await (client as WtClient).write(header);
    return;
  }
  const res = await client.send(frame);
  if (client.kind === "sse") assert.equal((res as Response).status, 413);
}

async function assertDisconnect(
  client: TestClient,
  error: string,
  code: number,
): Promise<void> {
  const d = await client.expect("disconnect");
  assert.equal(d.error, error);
  assert.equal(d.code, code);
  assert.equal(d.reconnect, code < 3500);
  const closed = await deadline(client.closed, 3000, `${client.kind} close`);
  assert.equal(closed.code, code);
}

for (const kind of TRANSPORT_KINDS) {
  Deno.test(`${kind} transport: connect is answered with connected`, async () => {
    await withServer({}, async (env) => {
      const client = await env.connect(kind);
      const connected = await client.handshake();
      assert.equal(connected.resumed, false);
      assert.equal(typeof connected.session, "string");
      assert.equal(env.hub.sessionsByTransport()[kind], 1);
      await client.close();
      await eventually(() => env.hub.connectionCount === 0, 3000, "hub sees the close");
    });
  });

  Deno.test(`${kind} transport: subscribe and publish round-trip`, async () => {
    await withServer({}, async (env) => {
      const client = await env.connect(kind);
      await client.handshake();
      await client.send({ type: "subscribe", id: 2, channel: "news" });
      const sub = await client.expect("reply");
      assert.equal(sub.id, 2);
      assert.ok(sub.result);
      await client.send({ type: "publish", id: 3, seq: 1, channel: "news", data: { hi: "é€😀" } });
      const frames = [await client.next(), await client.next()];
      const pub = frames.find((f) => f.type === "pub")!;
      const reply = frames.find((f) => f.type === "reply")!;
      assert.deepEqual(pub.data, { hi: "é€😀" });
      assert.equal(pub.channel, "news");
      assert.equal(reply.id, 3);
      assert.equal((reply.result as { offset: number }).offset, pub.offset);
      await client.close();
    });
  });

  Deno.test(`${kind} transport: malformed JSON ends the connection with ERR_BAD_FRAME`, async () => {
    await withServer({}, async (env) => {
      const client = await env.connect(kind);
      await client.handshake();
      await client.send("{not json");
      await assertDisconnect(client, "ERR_BAD_FRAME", 3500);
      await eventually(() => env.hub.connectionCount === 0, 3000, "hub drops the connection");
    });
  });

  Deno.test(`${kind} transport: a frame over maxMessageBytes ends it with 3501`, async () => {
    await withServer({}, async (env) => {
      const client = await env.connect(kind);
      await client.handshake();
      await sendOversized(client);
      await assertDisconnect(client, "ERR_MESSAGE_TOO_LARGE", 3501);
      assert.equal(env.hub.stats.errors.ERR_MESSAGE_TOO_LARGE, 1);
    });
  });

  Deno.test(`${kind} transport: a connection over the hub's limit is refused with 3005`, async () => {
    await withServer({ limits: { maxConnections: 1 } }, async (env) => {
      const first = await env.connect(kind);
      await first.handshake();
      const second = await env.connect(kind);
      await assertDisconnect(second, "ERR_CONNECTION_LIMIT", 3005);
      assert.equal(env.hub.connectionCount, 1);
      await first.close();
    });
  });

  Deno.test(`${kind} transport: frames after connect are handled in order`, async () => {
    await withServer({}, async (env) => {
      const client = await env.connect(kind);
      await client.handshake();
      await client.send({ type: "subscribe", id: 10, channel: "order" });
      await client.expect("reply");
      for (let i = 1; i <= 20; i++) {
        await client.send({ type: "publish", id: 10 + i, seq: i, channel: "order", data: i });
      }
      const got: unknown[] = [];
      while (got.length < 20) {
        const f = await client.next();
        if (f.type === "pub") got.push(f.data);
      }
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i + 1));
      await client.close();
    });
  });
}

Deno.test("every transport: a publication reaches subscribers on all three", async () => {
  await withServer({}, async (env) => {
    const clients = new Map<TransportKind, TestClient>();
    for (const kind of TRANSPORT_KINDS) {
      const c = await env.connect(kind);
      await c.handshake();
      await c.send({ type: "subscribe", id: 2, channel: "all" });
      await c.expect("reply");
      clients.set(kind, c);
    }
    await clients.get("sse")!.send({ type: "publish", id: 3, seq: 1, channel: "all", data: "x" });
    for (const c of clients.values()) {
      const pub = await c.expect("pub");
      assert.equal(pub.data, "x", c.kind);
    }
    for (const c of clients.values()) await c.close();
  });
});

Deno.test("HttpServer.close() sends disconnect 3000 on every transport within 5 s", async () => {
  await withServer({}, async (env) => {
    const clients: TestClient[] = [];
    for (const kind of TRANSPORT_KINDS) {
      const c = await env.connect(kind);
      await c.handshake();
      clients.push(c);
    }
    // One more that never sends connect: the hub still has it pending.
    clients.push(await env.connect("websocket"));
    const started = performance.now();
    await deadline(env.server.close(), 5000, "close()");
    assert.ok(performance.now() - started < 5000);
    for (const c of clients) {
      const d = await c.expect("disconnect");
      assert.equal(d.code, 3000, c.kind);
      assert.equal(d.error, "ERR_SHUTDOWN");
      assert.equal(d.reconnect, true);
      const closed = await deadline(c.closed, 3000, `${c.kind} closed`);
      assert.equal(closed.code, 3000, c.kind);
    }
    assert.equal(env.server.ready, false);
  });
});

Deno.test("SseClient helper sanity: ids increase from 1", async () => {
  await withServer({}, async (env) => {
    const client = await env.connect("sse") as SseClient;
    await client.handshake();
    await client.send({ type: "ping" });
    await eventually(() => client.ids.length >= 2, 3000, "pong");
    assert.deepEqual(client.ids.slice(0, 2), [1, 2]);
    await client.close();
  });
});
