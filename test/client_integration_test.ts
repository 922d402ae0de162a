/**
 * The Deno client with its real adapters against a real Switchyard: every
 * transport, switches and drops without loss, tokens.
 */
import assert from "node:assert/strict";
import { SwitchyardClient } from "../client/mod.ts";
import { deadline, waitFor } from "../client/_test_util.ts";
import { signToken } from "../src/auth/mod.ts";
import { startTestServer } from "./_server.ts";

const OPTS = { sanitizeOps: false, sanitizeResources: false };

Deno.test({
  name: "SwitchyardClient over each transport: bootstrap, subscribe, publish, RPC",
  ...OPTS,
  async fn() {
    const s = await startTestServer();
    try {
      for (const kind of ["webtransport", "websocket", "sse"] as const) {
        const c = new SwitchyardClient(s.http, { storage: null, transports: [kind] });
        try {
          const got: unknown[] = [];
          await deadline(
            c.subscribe(`test:${kind}`, { onPublication: (p) => got.push(p.data) }).ready,
            "ready",
          );
          assert.equal(c.transport, kind);
          await c.publish(`test:${kind}`, { hello: kind });
          assert.deepEqual(await c.rpc("echo", [1, 2]), [1, 2]);
          assert.equal(await c.rpc("nope").catch((e) => e.code), "ERR_METHOD_NOT_FOUND");
          await waitFor(() => got.length === 1, "the publication");
          assert.deepEqual(got, [{ hello: kind }]);
        } finally {
          await c.close();
        }
      }
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "SwitchyardClient switches across every transport and survives drops without loss",
  ...OPTS,
  async fn() {
    const s = await startTestServer();
    const c = new SwitchyardClient(s.http, { storage: null, upgradeIntervalMs: 0 });
    try {
      const got: number[] = [];
      await deadline(
        c.subscribe("test:sw", { onPublication: (p) => got.push(p.data as number) }).ready,
        "ready",
      );
      assert.equal(c.transport, "webtransport");
      const session = c.session;
      let n = 0;
      let stop = false;
      const publisher = (async () => {
        while (!stop) {
          await s.app.hub.publish("test:sw", ++n);
          await new Promise((r) => setTimeout(r, 1));
        }
      })();
      const sends: Promise<unknown>[] = [];
      for (const kind of ["websocket", "sse", "webtransport", "sse", "websocket"] as const) {
        await deadline(c.forceTransport(kind), `switch to ${kind}`);
        assert.equal(c.transport, kind);
        sends.push(c.publish("test:sw", -sends.length - 1));
        c.dropTransport();
        await deadline(c.connect(), `reconnect on ${kind}`);
        assert.equal(c.transport, kind, "pinned");
        sends.push(c.publish("test:sw", -sends.length - 1));
      }
      stop = true;
      await publisher;
      await deadline(Promise.all(sends), "every publish");
      assert.equal(c.session, session, "one session throughout");
      const total = n + sends.length;
      await waitFor(() => got.length >= total, `${total} publications`, 5000).catch(() => {});
      assert.equal(new Set(got).size, got.length, "no duplicates");
      assert.equal(got.length, total, "nothing lost");
      assert.deepEqual(got.filter((x) => x > 0), Array.from({ length: n }, (_, i) => i + 1));
      const metrics = await (await fetch(`${s.http}/metrics`)).text();
      assert.match(metrics, /switchyard_transport_switches_total [1-9]/);
    } finally {
      await c.close();
      await s.close();
    }
  },
});

Deno.test({
  name: "SwitchyardClient with tokens: refused without, connected with, refreshed by getToken",
  ...OPTS,
  async fn() {
    const secret = "integration secret that is long enough!!";
    const s = await startTestServer({
      toml:
        `[auth]\nanonymous = false\nhmac_secret = "${secret}"\n[namespaces.test]\nhistory_size = 10\n`,
    });
    try {
      const anon = new SwitchyardClient(s.http, { storage: null, transports: ["websocket"] });
      const err = await anon.connect().then(() => undefined, (e) => e);
      assert.equal(err?.code, "ERR_UNAUTHORIZED");
      assert.equal(anon.state, "closed");
      await anon.close();

      let issued = 0;
      const c = new SwitchyardClient(s.http, {
        storage: null,
        getToken: () => {
          issued += 1;
          return signToken({ sub: "alice" }, { alg: "HS256", secret, expiresIn: 3 });
        },
      });
      try {
        await c.connect();
        const members = new Promise((resolve) =>
          c.subscribe("test:t", { onPublication: (p) => resolve(p.info?.user) })
        );
        await c.publish("test:t", "hi");
        assert.equal(await members, "alice");
        // Each 3 s token is refreshed halfway; by the fourth, the first one has expired and
        // the session is still the same and connected.
        const session = c.session;
        await waitFor(() => issued >= 4, "three refreshes", 10_000);
        assert.equal(c.state, "connected");
        assert.equal(c.session, session);
        await c.publish("test:t", "still here");
      } finally {
        await c.close();
      }
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "SwitchyardClient over SSE sends a burst larger than the POST body limit in several POSTs",
  ...OPTS,
  async fn() {
    const s = await startTestServer({
      toml:
        `[limits]\nmax_message_bytes = 4096\npublish_rate = 10000\npublish_burst = 10000\n[namespaces.test]\nhistory_size = 1000\n`,
    });
    const c = new SwitchyardClient(s.http, { storage: null, transports: ["sse"] });
    try {
      await c.connect();
      const sends = [];
      for (let i = 0; i < 80; i++) sends.push(c.publish("test:burst", "x".repeat(1100)));
      await deadline(Promise.all(sends), "80 publishes of 1.1 KB (88 KB, over 16 × 4 KB)");
      assert.equal(c.state, "connected");
      const big = await c.publish("test:burst", "y".repeat(5000)).catch((e) => e.code);
      assert.equal(big, "ERR_MESSAGE_TOO_LARGE", "refused locally, the session lives on");
      const after = await c.publish("test:burst", "fine");
      assert.equal(after.offset, 81, "no seq gap: the next publish is applied");
    } finally {
      await c.close();
      await s.close();
    }
  },
});
