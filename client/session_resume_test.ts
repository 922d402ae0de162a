import assert from "node:assert/strict";
import { testAuthenticator } from "./_hub_loopback.ts";
import { nextEvent, setup, waitFor } from "./_test_util.ts";
import { SwitchyardClientError } from "./client_error.ts";

Deno.test("SwitchyardClient.dropTransport() resumes the session and replays what was missed", async () => {
  const t = await setup();
  try {
    const c = t.client();
    const got: unknown[] = [];
    const recoveries: boolean[] = [];
    const sub = c.subscribe("h:r", {
      onPublication: (p) => got.push(p.data),
      onRecovery: (r) => recoveries.push(r.recovered),
    });
    await sub.ready;
    await t.lb.hub.publish("h:r", "a");
    await waitFor(() => got.length === 1, "first publication");
    const session = c.session;
    const states: string[] = [];
    c.on("state", (s) => states.push(s));
    t.lb.behaviour.webtransport = "refuse";
    t.lb.behaviour.websocket = "refuse";
    c.dropTransport();
    assert.equal(c.state, "reconnecting");
    assert.equal(c.transport, null);
    await t.lb.hub.publish("h:r", "b");
    await t.lb.hub.publish("h:r", "c");
    await c.connect();
    await waitFor(() => got.length === 3, "the replay");
    assert.deepEqual(got, ["a", "b", "c"]);
    assert.equal(c.session, session);
    assert.equal(c.transport, "sse");
    assert.deepEqual(recoveries, [true]);
    assert.deepEqual(states, ["reconnecting", "connected"]);
    assert.equal(c.metrics().reconnects, 1);
    assert.equal(c.metrics().perTransport.webtransport.reconnects, 1);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient resends an unanswered publish after a drop; the server applies it once", async () => {
  const t = await setup();
  try {
    const c = t.client();
    await c.connect();
    const conn = t.lb.live("webtransport")[0];
    const p = c.publish("h:once", "x");
    // The frame reaches the server but the connection dies before the reply comes back.
    await waitFor(() => t.lb.received.some((f) => f.includes('"data":"x"')), "the publish");
    conn.drop();
    const pos = await p;
    assert.equal(pos.offset, 1);
    const { publications } = await t.lb.hub.history("h:once", {
      since: { offset: 0, epoch: pos.epoch },
    });
    assert.deepEqual(publications.map((x) => x.data), ["x"]);
    assert.equal(t.lb.received.filter((f) => f.includes('"data":"x"')).length, 2, "sent twice");
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient reports recovered: false and jumps when history cannot fill the gap", async () => {
  const t = await setup();
  try {
    const c = t.client();
    const got: unknown[] = [];
    const recoveries: { channel: string; recovered: boolean }[] = [];
    c.on("recovery", (r) => recoveries.push(r));
    const sub = c.subscribe("nohistory", { onPublication: (p) => got.push(p.data) });
    await sub.ready;
    await t.lb.hub.publish("nohistory", 1);
    await waitFor(() => got.length === 1, "first publication");
    t.lb.behaviour.webtransport = "refuse";
    c.dropTransport();
    await t.lb.hub.publish("nohistory", 2);
    await t.lb.hub.publish("nohistory", 3);
    await c.connect();
    await waitFor(() => recoveries.length === 1, "the recovery event");
    assert.deepEqual(recoveries, [{ channel: "nohistory", recovered: false }]);
    assert.equal(sub.position?.offset, 3);
    await t.lb.hub.publish("nohistory", 4);
    await waitFor(() => got.length === 2, "the next live publication");
    assert.deepEqual(got, [1, 4]);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient detects a dead link by silence and reconnects; answers pings meanwhile", async () => {
  const t = await setup({ pingMs: 40, pingTimeoutMs: 40 });
  try {
    const c = t.client();
    await c.connect();
    // Idle for several ping periods: pings and pongs keep both sides alive.
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(c.state, "connected");
    assert.equal(c.metrics().reconnects, 0);
    assert.ok(c.metrics().rttMs !== null, "our pings measured a round trip");
    assert.ok(c.metrics().rttAvgMs! >= 0);
    const session = c.session;
    const started = Date.now();
    t.lb.live("webtransport")[0].blackhole();
    await nextEvent(c, "state", (s) => s === "reconnecting");
    const silent = Date.now() - started;
    // Silence counts from the last frame, which came at most one ping period before the cut.
    assert.ok(silent >= 40 && silent < 400, `detected after ${silent} ms`);
    await c.connect();
    assert.equal(c.session, session);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient starts a new session after the grace period and keeps its outbox", async () => {
  const t = await setup({ graceMs: 30, pingMs: 20, pingTimeoutMs: 20 });
  try {
    const c = t.client();
    const got: unknown[] = [];
    await c.subscribe("h:g", { onPublication: (p) => got.push(p.data) }).ready;
    const first = c.session;
    for (const k of ["webtransport", "websocket", "sse"] as const) t.lb.behaviour[k] = "refuse";
    c.dropTransport();
    const p = c.publish("h:g", "queued");
    await t.lb.hub.publish("h:g", "while away");
    await waitFor(() => t.lb.hub.sessionCount === 0, "the session to expire");
    t.lb.behaviour.sse = "ok";
    await p;
    assert.notEqual(c.session, first);
    await waitFor(() => got.length === 2, "both publications");
    assert.deepEqual(got, ["while away", "queued"]);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient reconnects after a transient close code", async () => {
  const t = await setup();
  try {
    const c = t.client();
    await c.connect();
    const first = c.session;
    t.lb.hub.disconnectUser("", "ERR_SESSION_CLOSED");
    await nextEvent(c, "state", (s) => s === "reconnecting");
    await c.connect();
    assert.notEqual(c.session, first, "the server had destroyed the session");
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient stops on ERR_UNAUTHORIZED without trying other transports", async () => {
  const t = await setup({ authenticator: testAuthenticator() });
  try {
    const c = t.client({ token: "bad" });
    const error = nextEvent(c, "error");
    await assert.rejects(
      c.connect(),
      (e) =>
        e instanceof SwitchyardClientError && e.code === "ERR_UNAUTHORIZED" && e.closeCode === 3502,
    );
    assert.equal((await error).code, "ERR_UNAUTHORIZED");
    assert.equal(c.state, "closed");
    assert.equal(c.metrics().attempts, 1);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient calls getToken() for a first token and after ERR_TOKEN_EXPIRED", async () => {
  const t = await setup({ authenticator: testAuthenticator() });
  try {
    const tokens = ["expired", "good"];
    let calls = 0;
    const c = t.client({ getToken: () => Promise.resolve(tokens[calls++]) });
    await c.connect();
    assert.equal(calls, 2);
    assert.equal(c.metrics().fallbacks, 0, "an expired token is not the transport's fault");
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient refreshes the token before it expires", async () => {
  let expires = Date.now() + 200;
  const t = await setup({ authenticator: testAuthenticator(() => expires) });
  try {
    let calls = 0;
    const c = t.client({
      token: "soon",
      getToken: () => {
        calls += 1;
        expires = Date.now() + 200;
        return Promise.resolve("soon");
      },
    });
    await c.connect();
    const conn = t.lb.live("webtransport")[0];
    await waitFor(
      () => conn.sent.filter((f) => f.includes('"type":"refresh"')).length >= 2,
      "two refreshes",
    );
    assert.ok(calls >= 2);
    assert.equal(c.metrics().reconnects, 0, "never expired");
  } finally {
    await t.dispose();
  }
});
