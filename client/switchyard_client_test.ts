import assert from "node:assert/strict";
import { SwitchyardClientError } from "./client_error.ts";
import type { Publication } from "./subscription.ts";
import { nextEvent, setup, waitFor } from "./_test_util.ts";

Deno.test("SwitchyardClient.connect() connects over the first transport and reports state", async () => {
  const t = await setup();
  try {
    const client = t.client();
    const states: string[] = [];
    client.on("state", (s) => states.push(s));
    assert.equal(client.state, "idle");
    assert.equal(client.transport, null);
    await client.connect();
    assert.equal(client.state, "connected");
    assert.equal(client.transport, "webtransport");
    assert.deepEqual(states, ["connecting", "connected"]);
    const m = client.metrics();
    assert.equal(m.attempts, 1);
    assert.equal(m.successes, 1);
    assert.equal(m.perTransport.webtransport.successes, 1);
    assert.equal(m.messagesOut, 1, "the connect frame");
    assert.equal(m.messagesIn, 1, "the connected frame");
    assert.ok(m.bytesOut > 20 && m.bytesIn > 20);
    await client.connect();
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient.subscribe() and publish() deliver each publication once, in order", async () => {
  const t = await setup();
  try {
    const a = t.client();
    const b = t.client();
    const got: Publication[] = [];
    const all: Publication[] = [];
    b.on("publication", (p) => all.push(p));
    const sub = b.subscribe("h:room", { onPublication: (p) => got.push(p) });
    assert.equal(sub.channel, "h:room");
    const ready = await sub.ready;
    assert.equal(ready.recovered, false);
    assert.deepEqual(sub.position, { offset: ready.offset, epoch: ready.epoch });
    const positions = await Promise.all([1, 2, 3].map((n) => a.publish("h:room", { n })));
    assert.deepEqual(positions.map((p) => p.offset), [1, 2, 3]);
    await waitFor(() => got.length === 3, "3 publications");
    assert.deepEqual(got.map((p) => p.data), [{ n: 1 }, { n: 2 }, { n: 3 }]);
    assert.deepEqual(got.map((p) => p.offset), [1, 2, 3]);
    assert.equal(got[0].info?.user, "");
    assert.deepEqual(all, got);
    assert.deepEqual(sub.position, { offset: 3, epoch: positions[2].epoch });
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient.subscribe() with since replays what was missed", async () => {
  const t = await setup();
  try {
    const a = t.client();
    const first = await a.publish("h:log", "one");
    await a.publish("h:log", "two");
    await a.publish("h:log", "three");
    const b = t.client();
    const got: unknown[] = [];
    const recoveries: boolean[] = [];
    const sub = b.subscribe("h:log", {
      onPublication: (p) => got.push(p.data),
      onRecovery: (r) => recoveries.push(r.recovered),
      since: first,
    });
    assert.equal((await sub.ready).recovered, true);
    await waitFor(() => got.length === 2, "the replay");
    assert.deepEqual(got, ["two", "three"]);
    assert.deepEqual(recoveries, [true]);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient.subscribe() refuses a second subscription and a bad channel", async () => {
  const t = await setup();
  try {
    const c = t.client();
    c.subscribe("news", { onPublication() {} });
    assert.throws(
      () => c.subscribe("news", { onPublication() {} }),
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_ALREADY_SUBSCRIBED",
    );
    assert.throws(
      () => c.subscribe("bad channel", { onPublication() {} }),
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_BAD_CHANNEL",
    );
  } finally {
    await t.dispose();
  }
});

Deno.test("Subscription.ready rejects with the server's code when the subscribe is refused", async () => {
  const t = await setup();
  try {
    const c = t.client();
    const sub = c.subscribe("nope:x", { onPublication() {} });
    await assert.rejects(
      sub.ready,
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_BAD_CHANNEL",
    );
    assert.equal(sub.active, false);
    // The channel is free again.
    c.subscribe("nope:x", { onPublication() {} }).ready.catch(() => {});
  } finally {
    await t.dispose();
  }
});

Deno.test("Subscription.unsubscribe() stops deliveries", async () => {
  const t = await setup();
  try {
    const c = t.client();
    const got: unknown[] = [];
    const sub = c.subscribe("h:u", { onPublication: (p) => got.push(p.data) });
    await sub.ready;
    await c.publish("h:u", 1);
    await waitFor(() => got.length === 1, "first publication");
    await sub.unsubscribe();
    assert.equal(sub.active, false);
    await c.publish("h:u", 2);
    const again: unknown[] = [];
    const sub2 = c.subscribe("h:u", { onPublication: (p) => again.push(p.data) });
    await sub2.ready;
    await c.publish("h:u", 3);
    await waitFor(() => again.length === 1, "publication after resubscribe");
    assert.deepEqual(got, [1]);
    assert.deepEqual(again, [3]);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient.rpc() and presence() get replies; errors carry codes", async () => {
  const t = await setup();
  try {
    t.lb.hub.rpc("add", (data) => (data as number[]).reduce((a, b) => a + b, 0));
    const c = t.client();
    assert.equal(await c.rpc("add", [1, 2, 3]), 6);
    await assert.rejects(
      c.rpc("missing"),
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_METHOD_NOT_FOUND",
    );
    const joins: string[] = [];
    const sub = c.subscribe("h:p", { onPublication() {}, onJoin: (i) => joins.push(i.client) });
    await sub.ready;
    const present = await c.presence("h:p");
    assert.deepEqual(Object.keys(present), [c.session]);
    await waitFor(() => joins.length === 1, "own join event");
    assert.equal(joins[0], c.session);
    await assert.rejects(
      c.presence("plain"),
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_BAD_REQUEST",
    );
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient.publish() refuses a frame over the server's limit without sending it", async () => {
  const t = await setup();
  try {
    const c = t.client();
    await c.connect();
    await assert.rejects(
      c.publish("h:big", "x".repeat(70_000)),
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_MESSAGE_TOO_LARGE",
    );
    assert.equal(c.state, "connected");
    assert.deepEqual(await c.publish("h:big", "small").then((p) => p.offset), 1);
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient.close() ends the session and rejects what is pending", async () => {
  const t = await setup();
  try {
    const c = t.client();
    await c.connect();
    assert.equal(t.lb.hub.sessionCount, 1);
    t.lb.behaviour.webtransport = "mute";
    c.dropTransport();
    const pending = c.publish("h:x", 1);
    const sub = c.subscribe("h:y", { onPublication() {} });
    await c.close();
    assert.equal(c.state, "closed");
    await assert.rejects(
      pending,
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_CLIENT_CLOSED",
    );
    await assert.rejects(
      sub.ready,
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_CLIENT_CLOSED",
    );
    await assert.rejects(
      c.connect(),
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_CLIENT_CLOSED",
    );
    await assert.rejects(
      c.publish("h:x", 2),
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_CLIENT_CLOSED",
    );
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient.close() sends close: the server forgets the session at once", async () => {
  const t = await setup();
  try {
    const c = t.client();
    await c.connect();
    assert.equal(t.lb.hub.sessionCount, 1);
    await c.close();
    await waitFor(() => t.lb.hub.sessionCount === 0, "the session to end");
  } finally {
    await t.dispose();
  }
});

Deno.test("SwitchyardClient stops on a permanent close code and reports it", async () => {
  const t = await setup();
  try {
    const c = t.client();
    await c.connect();
    const pending = c.rpc("slow");
    const error = nextEvent(c, "error");
    t.lb.hub.disconnectUser("", "ERR_BANNED");
    const err = await error;
    assert.equal(err.code, "ERR_BANNED");
    assert.equal(err.closeCode, 3505);
    assert.equal(c.state, "closed");
    await assert.rejects(
      pending,
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_BANNED",
    );
  } finally {
    await t.dispose();
  }
});
