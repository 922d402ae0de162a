/**
 * The client with its real adapters over real loopback sockets (WebTransport
 * on QUIC, WebSocket, SSE + POST) against the real hub.
 */
import assert from "node:assert/strict";
import { SwitchyardClient } from "./mod.ts";
import { startHubServers } from "./_hub_servers.ts";
import { deadline, waitFor } from "./_test_util.ts";

Deno.test("SwitchyardClient end to end: bootstrap, WebTransport first, publish and receive", async () => {
  const s = await startHubServers();
  const c = new SwitchyardClient(s.url, { storage: null });
  try {
    const got: unknown[] = [];
    await deadline(c.subscribe("h:e2e", { onPublication: (p) => got.push(p.data) }).ready, "ready");
    assert.equal(c.transport, "webtransport");
    await c.publish("h:e2e", { hello: "wt" });
    assert.equal(await c.rpc("echo").catch((e) => e.code), "ERR_METHOD_NOT_FOUND");
    await waitFor(() => got.length === 1, "the publication");
    assert.deepEqual(got, [{ hello: "wt" }]);
  } finally {
    await c.close();
    await s.close();
  }
});

Deno.test("SwitchyardClient end to end: switches across every transport and drops without loss", async () => {
  const s = await startHubServers();
  const c = new SwitchyardClient(s.url, { storage: null, upgradeIntervalMs: 0 });
  try {
    const got: number[] = [];
    await deadline(
      c.subscribe("h:sw", { onPublication: (p) => got.push(p.data as number) }).ready,
      "ready",
    );
    const session = c.session;
    let n = 0;
    let stop = false;
    const publisher = (async () => {
      while (!stop) {
        await s.hub.publish("h:sw", ++n);
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const sends: Promise<unknown>[] = [];
    for (const kind of ["websocket", "sse", "webtransport", "sse", "websocket"] as const) {
      await deadline(c.forceTransport(kind), `switch to ${kind}`);
      assert.equal(c.transport, kind);
      sends.push(c.publish("h:sw", -sends.length - 1));
      c.dropTransport();
      await deadline(c.connect(), `reconnect on ${kind}`);
      assert.equal(c.transport, kind, "pinned");
      sends.push(c.publish("h:sw", -sends.length - 1));
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
  } finally {
    await c.close();
    await s.close();
  }
});
