/**
 * Races and failures around connect and subscribe: each test holds a broker
 * call at a gate, does something meanwhile, then opens the gate.
 */
import assert from "node:assert/strict";
import { MemoryBroker } from "../broker/memory/memory_broker.ts";
import { FakeConnection, makeHub } from "./_test_util.ts";
import { ANONYMOUS } from "./authenticator.ts";
import type { Broker } from "./broker.ts";
import { SwitchyardError } from "./errors.ts";
import { Hub } from "./hub.ts";
import { DEFAULT_NAMESPACE, Namespaces } from "./namespaces.ts";
import type { ClientFrame, ServerFrame } from "./protocol.ts";

/** A broker whose methods can be held until the test lets them go. */
function gatedBroker() {
  const inner = new MemoryBroker();
  const held = new Map<
    string,
    { entered: PromiseWithResolvers<void>; open: PromiseWithResolvers<void> }
  >();
  const hold = (method: string) => {
    const gate = { entered: Promise.withResolvers<void>(), open: Promise.withResolvers<void>() };
    held.set(method, gate);
    return { entered: gate.entered.promise, open: () => gate.open.resolve() };
  };
  const pass = async (method: string) => {
    const gate = held.get(method);
    if (!gate) return;
    held.delete(method);
    gate.entered.resolve();
    await gate.open.promise;
  };
  let failHistory: SwitchyardError | undefined;
  const calls = { history: 0 };
  const subscribed = new Map<string, number>();
  const broker: Broker = {
    start: (sink) => inner.start(sink),
    publish: (c, d, o) => inner.publish(c, d, o),
    async history(c, q) {
      await pass("history");
      calls.history += 1;
      if (failHistory) {
        const err = failHistory;
        failHistory = undefined;
        throw err;
      }
      return inner.history(c, q);
    },
    async subscribe(c) {
      await pass("subscribe");
      subscribed.set(c, (subscribed.get(c) ?? 0) + 1);
      return inner.subscribe(c);
    },
    unsubscribe(c) {
      subscribed.set(c, (subscribed.get(c) ?? 0) - 1);
      return inner.unsubscribe(c);
    },
    publishJoinLeave: (c, k, i) => inner.publishJoinLeave(c, k, i),
    close: () => inner.close(),
  };
  return {
    broker,
    presence: inner,
    hold,
    failNextHistory: (err: SwitchyardError) => failHistory = err,
    subscribed,
    calls,
  };
}

async function gatedHub() {
  const g = gatedBroker();
  const hub = new Hub({
    broker: g.broker,
    presence: g.presence,
    authenticator: ANONYMOUS,
    namespaces: new Namespaces({ ...DEFAULT_NAMESPACE, historySize: 100, presence: true }),
    clock: { now: () => Date.now(), setInterval: () => 0, clearInterval() {} },
    limits: {
      maxMessageBytes: 65536,
      maxChannelsPerSession: 128,
      maxConnections: 100,
      maxConnectionsPerIp: 100,
      publishRate: 0,
      publishBurst: 1,
      maxSendBufferBytes: 1 << 20,
    },
    session: { graceMs: 30000, pingIntervalMs: 5000, pingTimeoutMs: 4000, dedupeWindow: 1024 },
  });
  await hub.start();
  const open = () => {
    const c = new FakeConnection();
    c.link = hub.open(c);
    return c;
  };
  return { ...g, hub, open };
}

/** Wait, one macrotask at a time, until `pred` holds; fail after 2 s. */
async function until(pred: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 2000;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`Not within 2 s: ${what}`);
    await new Promise((r) => setTimeout(r, 0));
  }
}

type Connected = ServerFrame & { type: "connected" };

Deno.test("Hub: a resume that replaces a slower one gets every live publication", async () => {
  const { hub, open, hold, calls } = await gatedHub();
  const c1 = open();
  c1.push({ type: "connect", id: 1 });
  const s = await c1.reply(1) as Connected;
  const resume = { session: s.session, key: s.key };
  const gate = hold("subscribe");
  const c2 = open();
  c2.push({ type: "connect", id: 1, resume, subs: { b: {} } });
  await gate.entered;
  const c3 = open();
  c3.push({ type: "connect", id: 1, resume, subs: { b: {} } });
  await c2.next((f) => f.type === "disconnect");
  assert.equal(c2.closedWith?.code, 3001);
  // Let c3 through if it does not wait for c2, then let c2 run its late recovery of "b".
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0)); // c3 runs as far as it can
  const late = hold("history");
  const before = calls.history;
  gate.open();
  const r3 = await Promise.race([
    c3.reply(1) as Promise<Connected>,
    late.entered.then(() => undefined),
  ]);
  late.open();
  await until(() => calls.history > before, "the replaced connect's recovery");
  const connected = r3 ?? await c3.reply(1) as Connected;
  assert.equal(connected.resumed, true);
  assert.ok(connected.subs.b);
  await hub.publish("b", "live-1");
  await hub.publish("b", "live-2");
  assert.deepEqual(c3.pubs("b").map((p) => p.data), ["live-1", "live-2"]);
  await hub.shutdown();
});

Deno.test("Hub: a close during connect releases every subscription it made", async () => {
  const { hub, open, hold, subscribed, presence } = await gatedHub();
  const gate = hold("subscribe");
  const conn = open();
  conn.push({ type: "connect", id: 1, subs: { a: {}, b: {}, c: {} } } as ClientFrame);
  await gate.entered;
  conn.push({ type: "close" });
  gate.open();
  await until(
    () => [...subscribed.values()].every((n) => n === 0) && hub.subscriptionCount === 0,
    "broker subscriptions released",
  );
  assert.equal(hub.sessionCount, 0);
  assert.deepEqual(await presence.get("a"), {});
  await hub.publish("a", "nobody listens");
  await hub.shutdown();
});

Deno.test("Hub: a subscribe whose recovery fails leaves nothing behind and can be retried", async () => {
  const { hub, open, failNextHistory } = await gatedHub();
  const conn = open();
  conn.push({ type: "connect", id: 1 });
  await conn.reply(1);
  failNextHistory(new SwitchyardError("ERR_UNAVAILABLE", "history store down"));
  conn.push({ type: "subscribe", id: 2, channel: "news" });
  const first = await conn.reply(2);
  assert.equal(first.type === "reply" && first.error?.code, "ERR_UNAVAILABLE");
  assert.equal(hub.subscriptionCount, 0);
  conn.push({ type: "subscribe", id: 3, channel: "news" });
  const retry = await conn.reply(3);
  assert.equal(retry.type === "reply" && retry.error, undefined);
  await hub.publish("news", 1);
  assert.deepEqual(conn.pubs("news").map((p) => p.data), [1]);
  await hub.shutdown();
});

Deno.test("Hub: an expired session's lineage goes only to the client holding its key", async () => {
  const { hub, clock, connect } = await makeHub({ timing: { graceMs: 1000 } });
  const watcher = await connect({ subs: { chat: {} } });
  const victim = await connect();
  victim.conn.close(1006, "gone");
  await Promise.resolve();
  clock.advance(2000);
  await Promise.resolve();
  // Somebody who knows the victim's session id (it is in publications) but not its key.
  const attacker = await connect({ resume: { session: victim.connected.session, key: "guess" } });
  assert.notEqual(attacker.connected.lineage, victim.connected.lineage);
  attacker.conn.push({ type: "publish", id: 2, seq: 1, channel: "junk", data: "attacker" });
  await attacker.conn.reply(2);
  // The victim comes back after its grace period, with its key: same lineage, and its publish
  // with seq 1 is not mistaken for the attacker's.
  const back = await connect({
    resume: { session: victim.connected.session, key: victim.connected.key },
  });
  assert.equal(back.connected.resumed, false);
  assert.equal(back.connected.lineage, victim.connected.lineage);
  back.conn.push({ type: "publish", id: 2, seq: 1, channel: "chat", data: "victim" });
  await back.conn.reply(2);
  assert.deepEqual(watcher.conn.pubs("chat").map((p) => p.data), ["victim"]);
  await hub.shutdown();
});
