import assert from "node:assert/strict";
import { MemoryStorage } from "./_test_storage.ts";
import { nextEvent, setup, waitFor } from "./_test_util.ts";
import { transportCacheKey } from "./transport_cache.ts";
import { SwitchyardClientError } from "./client_error.ts";

Deno.test("SwitchyardClient falls back past a refused and a hanging transport", async () => {
  const t = await setup();
  try {
    t.lb.behaviour.webtransport = "refuse";
    t.lb.behaviour.websocket = "hang";
    const c = t.client({ attemptTimeoutMs: 100 });
    const fallbacks: { from: string; to: string; reason: string }[] = [];
    c.on("fallback", (f) => fallbacks.push(f));
    const started = Date.now();
    await c.connect();
    assert.equal(c.transport, "sse");
    assert.deepEqual(fallbacks.map((f) => [f.from, f.to]), [
      ["webtransport", "websocket"],
      ["websocket", "sse"],
    ]);
    assert.match(fallbacks[1].reason, /within 100 ms/);
    assert.ok(Date.now() - started >= 100, "waited for the hanging attempt's timeout");
    const m = c.metrics();
    assert.equal(m.attempts, 3);
    assert.equal(m.failures, 2);
    assert.equal(m.fallbacks, 2);
    assert.equal(m.perTransport.websocket.failures, 1);
    assert.equal(m.perTransport.sse.successes, 1);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient times out a transport that opens but never answers connect", async () => {
  const t = await setup();
  try {
    t.lb.behaviour.webtransport = "mute";
    const c = t.client({ attemptTimeoutMs: 80 });
    const fallback = nextEvent(c, "fallback");
    await c.connect();
    assert.equal(c.transport, "websocket");
    assert.equal((await fallback).from, "webtransport");
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient skips transports the server does not offer or the environment lacks", async () => {
  const t = await setup();
  try {
    const boot = { ...t.lb.bootstrap, transports: { ...t.lb.bootstrap.transports } };
    delete boot.transports.webtransport;
    const c = t.client({ bootstrap: boot, _supported: (k) => k !== "websocket" });
    await c.connect();
    assert.equal(c.transport, "sse");
    assert.equal(c.metrics().attempts, 1);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient retries with backoff until a transport comes back", async () => {
  const t = await setup();
  try {
    for (const k of ["webtransport", "websocket", "sse"] as const) t.lb.behaviour[k] = "refuse";
    const c = t.client({ backoff: { minMs: 5, maxMs: 10 } });
    const connected = c.connect();
    await waitFor(() => c.metrics().attempts >= 9, "three failed rounds");
    assert.equal(c.state, "connecting");
    assert.equal(c.metrics().successes, 0);
    t.lb.behaviour.websocket = "ok";
    await connected;
    assert.equal(c.transport, "websocket");
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient remembers the winner per origin and starts with it", async () => {
  const t = await setup();
  try {
    const storage = new MemoryStorage();
    t.lb.behaviour.webtransport = "refuse";
    const first = t.client({ storage, upgradeIntervalMs: 0 });
    await first.connect();
    assert.equal(first.transport, "websocket");
    const saved = JSON.parse(storage.getItem(transportCacheKey("http://test:4480"))!);
    assert.equal(saved.kind, "websocket");
    assert.ok(saved.expires > Date.now() + 86_000_000);
    await first.close();

    t.lb.behaviour.webtransport = "ok";
    const second = t.client({ storage, upgradeIntervalMs: 0 });
    await second.connect();
    assert.equal(second.transport, "websocket", "cached winner first, not the best");
    assert.equal(second.metrics().perTransport.webtransport.attempts, 0);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient ignores an expired cache entry", async () => {
  const t = await setup();
  try {
    const storage = new MemoryStorage();
    storage.setItem(
      transportCacheKey("http://test:4480"),
      JSON.stringify({ kind: "sse", expires: Date.now() - 1 }),
    );
    const c = t.client({ storage });
    await c.connect();
    assert.equal(c.transport, "webtransport");
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient upgrades to a better transport when it comes back, without loss", async () => {
  const t = await setup();
  try {
    t.lb.behaviour.webtransport = "refuse";
    const c = t.client({ upgradeIntervalMs: 30 });
    const got: number[] = [];
    const errors: string[] = [];
    c.on("error", (e) => errors.push(e.code));
    const sub = c.subscribe("h:up", { onPublication: (p) => got.push(p.data as number) });
    await sub.ready;
    assert.equal(c.transport, "websocket");
    t.lb.behaviour.webtransport = "ok";
    const upgrade = nextEvent(c, "upgrade");
    let n = 0;
    const publishing = (async () => {
      while (n < 60) await t.lb.hub.publish("h:up", ++n);
    })();
    const pubs: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      pubs.push(c.publish("h:up", 1000 + i));
      await new Promise((r) => setTimeout(r, 1));
    }
    assert.deepEqual(await upgrade, { from: "websocket", to: "webtransport" });
    await publishing;
    await Promise.all(pubs);
    assert.equal(c.transport, "webtransport");
    await waitFor(() => got.length === 80, "80 publications", 2000).catch(() => {});
    const sorted = [...got].sort((a, b) => a - b);
    assert.equal(new Set(got).size, got.length, "no duplicates");
    assert.equal(got.length, 80, `all delivered: ${JSON.stringify(sorted)}`);
    assert.deepEqual(errors, [], "ERR_TRANSPORT_REPLACED is not an error");
    const m = c.metrics();
    assert.equal(m.upgrades, 1);
    assert.equal(m.perTransport.webtransport.upgrades, 1);
    assert.equal(m.reconnects, 0);
    assert.equal(t.lb.live("websocket").length, 0, "the old connection is closed");
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient.forceTransport() switches to each transport and back to automatic", async () => {
  const t = await setup();
  try {
    const c = t.client({ upgradeIntervalMs: 20 });
    const got: unknown[] = [];
    await c.subscribe("h:f", { onPublication: (p) => got.push(p.data) }).ready;
    const session = c.session;
    for (const kind of ["sse", "websocket", "webtransport", "sse"] as const) {
      await c.forceTransport(kind);
      assert.equal(c.transport, kind);
      await c.publish("h:f", kind);
    }
    assert.equal(c.session, session, "one session throughout");
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(c.transport, "sse", "pinned: no automatic upgrade");
    const upgrade = nextEvent(c, "upgrade");
    await c.forceTransport(null);
    assert.deepEqual(await upgrade, { from: "sse", to: "webtransport" });
    await waitFor(() => got.length === 4, "4 publications");
    assert.deepEqual(got, ["sse", "websocket", "webtransport", "sse"]);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient.forceTransport() rejects and stays put when the transport fails", async () => {
  const t = await setup();
  try {
    const c = t.client({ attemptTimeoutMs: 80, upgradeIntervalMs: 0 });
    await c.connect();
    t.lb.behaviour.sse = "mute";
    await assert.rejects(
      c.forceTransport("sse"),
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_CONNECT_TIMEOUT",
    );
    assert.equal(c.transport, "webtransport");
    assert.equal(c.state, "connected");
    assert.deepEqual((await c.publish("h:s", 1)).offset, 1);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient.forceTransport() before connecting connects with that transport", async () => {
  const t = await setup();
  try {
    const c = t.client();
    await c.forceTransport("sse");
    assert.equal(c.transport, "sse");
    assert.equal(c.metrics().perTransport.webtransport.attempts, 0);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient takes what the old transport still delivers before the switch's answer", async () => {
  const t = await setup();
  try {
    const c = t.client({ upgradeIntervalMs: 0 });
    await c.forceTransport("websocket");
    const got: number[] = [];
    const recoveries: boolean[] = [];
    // No history: whatever the old connection drops for good is a declared gap.
    const sub = c.subscribe("live", {
      onPublication: (p) => got.push(p.data as number),
      onRecovery: (r) => recoveries.push(r.recovered),
    });
    await sub.ready;
    const old = t.lb.live("websocket")[0];
    old.toClient.delay = () => 40;
    for (let i = 1; i <= 3; i++) await t.lb.hub.publish("live", i);
    await c.forceTransport("webtransport");
    await t.lb.hub.publish("live", 4);
    await waitFor(() => got.length === 4, "4 publications");
    assert.deepEqual(got, [1, 2, 3, 4]);
    assert.deepEqual(recoveries.filter((r) => !r), [], "no gap: nothing was lost");
  } finally {
    await t.dispose();
  }
});
