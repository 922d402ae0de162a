import assert from "node:assert/strict";
import { type Authenticator, SwitchyardError } from "../../core/mod.ts";
import { deadline, eventually, withServer, type WtClient } from "../../http/_testing.ts";
import { encodeLengthPrefixed } from "./frame_decoder.ts";

/** Lets in whoever brings the token "alice-token", as "alice". */
const TOKENS: Authenticator = {
  connect: (token) =>
    token === "alice-token"
      ? Promise.resolve({ user: "alice", channels: [] })
      : Promise.reject(new SwitchyardError("ERR_UNAUTHORIZED", "Bad token")),
  subscribe: () => Promise.reject(new SwitchyardError("ERR_FORBIDDEN")),
};

Deno.test("WebTransportTransport takes ?token= from the URL into a connect without a token", async () => {
  await withServer({ authenticator: TOKENS }, async (env) => {
    const client = await env.connect("webtransport", { query: "?token=alice-token" });
    const connected = await client.handshake();
    assert.equal(connected.user, "alice");
    await client.close();

    // A token in the frame wins over the URL's.
    const other = await env.connect("webtransport", { query: "?token=alice-token" });
    await other.send({ type: "connect", id: 1, token: "wrong" });
    const d = await other.expect("disconnect");
    assert.equal(d.error, "ERR_UNAUTHORIZED");
    assert.equal((await deadline(other.closed, 3000, "close")).code, 3502);
  });
});

Deno.test("WebTransportTransport decodes frames split across writes and packed in one", async () => {
  await withServer({}, async (env) => {
    const client = await env.connect("webtransport") as WtClient;
    const bytes = encodeLengthPrefixed(JSON.stringify({ type: "connect", id: 1 }));
    for (const b of bytes) await client.write(Uint8Array.of(b));
    assert.equal((await client.next()).type, "connected");
    const packed = [1, 2, 3].map((id) =>
      encodeLengthPrefixed(JSON.stringify({ type: "rpc", id, seq: id, method: "nope" }))
    );
    const all = new Uint8Array(packed.reduce((n, p) => n + p.length, 0));
    packed.reduce((at, p) => (all.set(p, at), at + p.length), 0);
    await client.write(all);
    const ids = [(await client.next()).id, (await client.next()).id, (await client.next()).id];
    assert.deepEqual(ids, [1, 2, 3]);
    await client.close();
  });
});

Deno.test("WebTransportTransport ends a frame that is not UTF-8 with ERR_BAD_FRAME", async () => {
  await withServer({}, async (env) => {
    const client = await env.connect("webtransport") as WtClient;
    await client.handshake();
    await client.write(new Uint8Array([0, 0, 0, 2, 0xc3, 0x28]));
    const d = await client.expect("disconnect");
    assert.equal(d.error, "ERR_BAD_FRAME");
    assert.equal((await deadline(client.closed, 3000, "close")).code, 3500);
  });
});

Deno.test("WebTransportTransport closes a session without a stream after the timeout", async () => {
  await withServer({ wtStreamTimeoutMs: 150 }, async (env) => {
    const started = performance.now();
    const client = await env.connect("webtransport", { noStream: true });
    const closed = await deadline(client.closed, 3000, "close");
    assert.equal(closed.code, 3002);
    assert.match(closed.reason, /No bidirectional stream within 150 ms/);
    assert.ok(performance.now() - started >= 140);
    assert.equal(env.hub.stats.connectionsOpened.webtransport, 0);
  });
});

Deno.test("WebTransport sessions on another path are closed with 404", async () => {
  await withServer({}, async (env) => {
    const wt = new WebTransport(`https://127.0.0.1:${env.server.quicPort}/elsewhere`, {
      serverCertificateHashes: [{ algorithm: "sha-256", value: env.certs.current.hash.value }],
    });
    // Deno's client rejects `ready` when the session closes during its setup.
    wt.ready.catch(() => {});
    const closed = await deadline(wt.closed, 3000, "close");
    assert.equal(closed.closeCode, 404);
  });
});

Deno.test("WebTransportTransport tells the hub when the client leaves", async () => {
  await withServer({}, async (env) => {
    const client = await env.connect("webtransport");
    await client.handshake();
    assert.equal(env.hub.connectionCount, 1);
    await client.close();
    await eventually(() => env.hub.connectionCount === 0, 3000, "hub sees the close");
  });
});

Deno.test("WebTransportTransport ignores streams after the first; the session carries on", async () => {
  // The server cancels them; Deno does not put a stream's cancel on the wire (PLATFORM.md), so
  // what the client can check is that its session is unharmed.
  await withServer({}, async (env) => {
    const client = await env.connect("webtransport") as WtClient;
    await client.handshake();
    for (let i = 0; i < 3; i++) {
      const extra = await client.wt.createBidirectionalStream();
      const writer = extra.writable.getWriter();
      await writer.write(encodeLengthPrefixed('{"type":"close"}')).catch(() => {});
    }
    await client.send({ type: "rpc", id: 7, seq: 1, method: "nope" });
    const reply = await client.expect("reply");
    assert.equal(reply.id, 7, "frames on other streams were not read: no close happened");
    await client.close();
  });
});
