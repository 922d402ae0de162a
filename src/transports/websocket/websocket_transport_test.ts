import assert from "node:assert/strict";
import { deadline, eventually, withServer, type WsClient } from "../../http/_testing.ts";

Deno.test("WebSocketTransport refuses a binary message with ERR_BAD_FRAME and 3500", async () => {
  await withServer({}, async (env) => {
    const client = await env.connect("websocket") as WsClient;
    await client.handshake();
    await client.send(new Uint8Array([123, 125]));
    const d = await client.expect("disconnect");
    assert.equal(d.error, "ERR_BAD_FRAME");
    assert.equal(d.reason, "Malformed frame: binary messages are not accepted");
    const closed = await deadline(client.closed, 3000, "close");
    assert.deepEqual(closed, {
      code: 3500,
      reason: "Malformed frame: binary messages are not accepted",
    });
    await eventually(() => env.hub.connectionCount === 0, 3000, "hub drops it");
  });
});

Deno.test("WebSocketTransport counts the limit in UTF-8 bytes, not characters", async () => {
  await withServer({ limits: { maxMessageBytes: 1024 } }, async (env) => {
    const client = await env.connect("websocket");
    await client.handshake();
    // 532 characters, 1 042 bytes.
    await client.send(JSON.stringify({ type: "ping", p: "é".repeat(510) }));
    const d = await client.expect("disconnect");
    assert.equal(d.error, "ERR_MESSAGE_TOO_LARGE");
    assert.equal(d.reason, "Frame of 1042 bytes is over limits.max_message_bytes (1024)");
    assert.equal((await client.closed).code, 3501);
  });
});

Deno.test("WebSocketTransport accepts a message of exactly maxMessageBytes", async () => {
  await withServer({ limits: { maxMessageBytes: 1024 } }, async (env) => {
    const client = await env.connect("websocket");
    await client.handshake();
    const frame = JSON.stringify({ type: "ping", p: "" });
    await client.send(JSON.stringify({ type: "ping", p: "x".repeat(1024 - frame.length) }));
    assert.equal((await client.next()).type, "pong");
    await client.close();
  });
});

Deno.test("WebSocket with a refused Origin gets disconnect and close code 3503", async () => {
  await withServer({}, async (env) => {
    const client = await env.connect("websocket", { origin: "https://evil.example" });
    const d = await client.next();
    assert.equal(d.type, "disconnect");
    assert.equal(d.error, "ERR_FORBIDDEN_ORIGIN");
    assert.equal(d.code, 3503);
    assert.equal(d.reconnect, false);
    assert.match(d.reason as string, /evil\.example.*allowed_origins/);
    assert.equal((await deadline(client.closed, 3000, "close")).code, 3503);
    assert.equal(env.hub.stats.connectionsOpened.websocket, 0);
    assert.equal(env.hub.stats.errors.ERR_FORBIDDEN_ORIGIN, 1);
  });
});

Deno.test("WebSocket Origin check: same host on any port by default, patterns when set", async () => {
  await withServer({}, async (env) => {
    const client = await env.connect("websocket", { origin: "http://127.0.0.1:5173" });
    await client.handshake();
    await client.close();
  });
  await withServer({ allowedOrigins: ["http://localhost:*"] }, async (env) => {
    const ok = await env.connect("websocket", { origin: "http://localhost:5173" });
    await ok.handshake();
    await ok.close();
    const refused = await env.connect("websocket", { origin: "http://127.0.0.1:5173" });
    assert.equal((await refused.closed).code, 3503);
  });
});

Deno.test("GET /switchyard/ws without an upgrade answers 426", async () => {
  await withServer({}, async (env) => {
    const res = await fetch(`${env.base}/switchyard/ws`, { client: env.client });
    assert.equal(res.status, 426);
    assert.equal((await res.json()).error, "ERR_UPGRADE_REQUIRED");
  });
});

Deno.test("WebSocketTransport tells the hub when the client leaves", async () => {
  await withServer({}, async (env) => {
    const client = await env.connect("websocket");
    await client.handshake();
    assert.equal(env.hub.connectionCount, 1);
    await client.close();
    await eventually(() => env.hub.connectionCount === 0, 3000, "hub sees the close");
    assert.equal(env.hub.sessionCount, 1, "the session waits out its grace period");
  });
});

Deno.test("WebSocket over the plain-HTTP port works like wss", async () => {
  await withServer({ httpPort: 0 }, async (env) => {
    const base = env.server.httpUrl!.replace("localhost", "127.0.0.1");
    const client = await env.connect("websocket", { base });
    await client.handshake();
    await client.close();
  });
});
