/**
 * Bad input on every transport against a real server with JWT auth: each case
 * is refused with its documented code, nothing crashes, and a healthy session
 * keeps receiving throughout.
 */
import assert from "node:assert/strict";
import { signToken } from "../src/auth/mod.ts";
import type { TransportKind } from "../src/core/connection.ts";
import { type ClientTarget, connectClient, type TestClient } from "../src/http/_test_clients.ts";
import { startTestServer } from "./_server.ts";

const SECRET = "test secret that is long enough for HS256!";
const TOML = `
[session]
ping_interval_ms = 2000
ping_timeout_ms = 2000

[limits]
max_message_bytes = 1024
max_connections_per_ip = 12
publish_rate = 1000
publish_burst = 1000

[auth]
anonymous = false
hmac_secret = "${SECRET}"

[namespaces.test]
history_size = 100

[namespaces.secret]
subscribe = "private"
`;

const KINDS: TransportKind[] = ["webtransport", "websocket", "sse"];

function token(claims: Record<string, unknown>, expiresIn: number | string = "1h") {
  return signToken(claims, { alg: "HS256", secret: SECRET, expiresIn });
}

function base64url(text: string): string {
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

Deno.test({
  name: "Bad input on every transport is refused with its code; other sessions are unharmed",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startTestServer({ toml: TOML });
    const httpClient = Deno.createHttpClient({ caCerts: [server.caPem] });
    const target: ClientTarget = {
      httpClient,
      base: server.https,
      quicPort: server.app.server.quicPort,
      certificateHash: server.app.certificates!.current.hash.value,
    };
    const open: TestClient[] = [];
    const connect = async (kind: TransportKind) => {
      const c = await connectClient(kind, target);
      open.push(c);
      return c;
    };
    try {
      const healthy = await connect("websocket");
      await healthy.send({
        type: "connect",
        id: 1,
        token: await token({ sub: "watcher" }),
        subs: { "test:life": {} },
      });
      await healthy.expect("connected");
      let published = 0;
      const heartbeat = async () => {
        published += 1;
        await server.app.hub.publish("test:life", published);
        const pub = await healthy.expect("pub");
        assert.equal(pub.data, published, "the healthy session still receives, in order");
      };

      const alive = await token({ sub: "alice" });
      const expired = await token({ sub: "alice" }, -60);
      const none = `${base64url('{"alg":"none","typ":"JWT"}')}.${base64url('{"sub":"alice"}')}.`;
      const refusals: [string, (c: TestClient) => Promise<unknown>, number, string][] = [
        [
          "garbage token",
          (c) => c.send({ type: "connect", id: 1, token: "garbage" }),
          3502,
          "ERR_UNAUTHORIZED",
        ],
        [
          "expired token",
          (c) => c.send({ type: "connect", id: 1, token: expired }),
          3004,
          "ERR_TOKEN_EXPIRED",
        ],
        [
          'alg "none" token',
          (c) => c.send({ type: "connect", id: 1, token: none }),
          3502,
          "ERR_UNAUTHORIZED",
        ],
        ["no token", (c) => c.send({ type: "connect", id: 1 }), 3502, "ERR_UNAUTHORIZED"],
        ["malformed frame", (c) => c.send("{nope"), 3500, "ERR_BAD_FRAME"],
        [
          "oversized frame",
          (c) => c.send({ type: "connect", id: 1, token: "x".repeat(2000) }),
          3501,
          "ERR_MESSAGE_TOO_LARGE",
        ],
        [
          "subscribe before connect",
          (c) => c.send({ type: "subscribe", id: 1, channel: "test:a" }),
          3504,
          "ERR_NOT_CONNECTED",
        ],
      ];
      for (const kind of KINDS) {
        for (const [what, act, code, error] of refusals) {
          const c = await connect(kind);
          await act(c).catch(() => {});
          const d = await c.expect("disconnect");
          assert.deepEqual([d.code, d.error], [code, error], `${kind}: ${what}`);
          assert.equal((await c.closed).code === 1006 || (await c.closed).code === code, true);
          await c.close();
          open.splice(open.indexOf(c), 1);
          await heartbeat();
        }

        const c = await connect(kind);
        await c.send({ type: "connect", id: 1, token: alive });
        await c.expect("connected");
        await c.send({ type: "subscribe", id: 2, channel: "secret:plans" });
        const forbidden = await c.expect("reply");
        assert.equal((forbidden.error as { code: string }).code, "ERR_FORBIDDEN", kind);
        await c.send({ type: "subscribe", id: 3, channel: "nowhere:x" });
        const unknown = await c.expect("reply");
        assert.equal((unknown.error as { code: string }).code, "ERR_BAD_CHANNEL", kind);
        await c.close();
        open.splice(open.indexOf(c), 1);
        await heartbeat();
      }

      // A flood past max_connections_per_ip (12, with the healthy one open): refused with 3005.
      const flood: TestClient[] = [];
      const refused: number[] = [];
      for (let i = 0; i < 15; i++) {
        const kind = KINDS[i % KINDS.length];
        const c = await connect(kind);
        flood.push(c);
        await c.send({ type: "connect", id: 1, token: alive }).catch(() => {});
        const f = await c.next();
        if (f.type === "disconnect") refused.push(f.code as number);
        else assert.equal(f.type, "connected");
      }
      assert.deepEqual(refused, [3005, 3005, 3005, 3005], "11 accepted, then refused with 3005");
      await heartbeat();
    } finally {
      await Promise.all(open.map((c) => c.close().catch(() => {})));
      httpClient.close();
      await server.close();
    }
  },
});
