/**
 * The contract suite every {@linkcode Broker} passes: the memory broker now, the
 * Redis broker later. Call `brokerContract()` from a `*_test.ts` file.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Broker, PresenceStore, Publication } from "../core/broker.ts";
import type { ClientInfo } from "../core/protocol.ts";

/** Creates a fresh, isolated broker (and its presence store) for one test. */
export type BrokerFactory = () => Promise<
  { broker: Broker; presence: PresenceStore; cleanup(): Promise<void> }
>;

const H = { size: 100, ttlMs: 60_000 };

interface Recorded {
  pubs: [string, Publication][];
  events: [string, string, ClientInfo][];
}

async function started(factory: BrokerFactory) {
  const made = await factory();
  const seen: Recorded = { pubs: [], events: [] };
  await made.broker.start({
    publication: (ch, pub) => seen.pubs.push([ch, pub]),
    join: (ch, info) => seen.events.push(["join", ch, info]),
    leave: (ch, info) => seen.events.push(["leave", ch, info]),
  });
  return { ...made, seen };
}

/** Wait until `pred` holds, polling each event-loop turn, for at most `ms`. */
async function until(pred: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error("Condition not met in time");
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** Register the broker contract tests for one implementation. */
export function brokerContract(name: string, factory: BrokerFactory): void {
  const test = (title: string, fn: (b: Awaited<ReturnType<typeof started>>) => Promise<void>) =>
    Deno.test(`${name}: ${title}`, async () => {
      const b = await started(factory);
      try {
        await fn(b);
      } finally {
        await b.broker.close();
        await b.cleanup();
      }
    });

  test("publish() assigns gapless offsets in one epoch", async ({ broker }) => {
    const pubs = [];
    for (let i = 0; i < 5; i++) pubs.push(await broker.publish("c", i, { history: H }));
    assert.deepEqual(pubs.map((p) => p.offset), [1, 2, 3, 4, 5]);
    assert.equal(new Set(pubs.map((p) => p.epoch)).size, 1);
  });

  test("subscribed channels reach the sink in offset order, others do not", async (b) => {
    await b.broker.subscribe("on");
    await Promise.all([1, 2, 3].map((i) => b.broker.publish("on", i, { history: H })));
    await b.broker.publish("off", "x", { history: H });
    await until(() => b.seen.pubs.length >= 3);
    assert.deepEqual(b.seen.pubs.map(([ch, p]) => [ch, p.offset]), [["on", 1], ["on", 2], [
      "on",
      3,
    ]]);
    await b.broker.unsubscribe("on");
    await b.broker.publish("on", 4, { history: H });
    await b.broker.subscribe("probe");
    await b.broker.publish("probe", 0, { history: H });
    await until(() => b.seen.pubs.some(([ch]) => ch === "probe"));
    assert.ok(!b.seen.pubs.some(([, p]) => p.data === 4));
  });

  test("history() returns exactly what follows a position", async ({ broker }) => {
    for (let i = 1; i <= 10; i++) await broker.publish("h", i, { history: H });
    const { top } = await broker.history("h", { limit: 0 });
    assert.equal(top.offset, 10);
    const after = await broker.history("h", { since: { offset: 7, epoch: top.epoch }, limit: 100 });
    assert.deepEqual(after.publications.map((p) => p.data), [8, 9, 10]);
    const limited = await broker.history("h", { since: { offset: 2, epoch: top.epoch }, limit: 3 });
    assert.deepEqual(limited.publications.map((p) => p.offset), [3, 4, 5]);
    const other = await broker.history("h", { since: { offset: 2, epoch: "x" }, limit: 100 });
    assert.deepEqual(other.publications, []);
    assert.deepEqual(other.top, top);
  });

  test("history keeps at most `size` publications and counts offsets with size 0", async (b) => {
    for (let i = 1; i <= 5; i++) {
      await b.broker.publish("s", i, { history: { size: 2, ttlMs: 60_000 } });
    }
    const { top } = await b.broker.history("s", { limit: 0 });
    const r = await b.broker.history("s", { since: { offset: 0, epoch: top.epoch }, limit: 100 });
    assert.deepEqual(r.publications.map((p) => p.offset), [4, 5]);
    for (let i = 1; i <= 3; i++) await b.broker.publish("z", i, { history: { size: 0, ttlMs: 1 } });
    const z = await b.broker.history("z", { since: { offset: 0, epoch: "?" }, limit: 10 });
    assert.equal(z.top.offset, 3);
    assert.deepEqual(z.publications, []);
  });

  test("an idempotency key publishes once and returns the first publication", async (b) => {
    const opts = { history: H, idempotencyKey: "k1" };
    const first = await b.broker.publish("i", "a", opts);
    const second = await b.broker.publish("i", "b", opts);
    assert.deepEqual(second, first);
    const { top } = await b.broker.history("i", { limit: 0 });
    assert.equal(top.offset, 1);
  });

  test("publication info survives history", async ({ broker }) => {
    const info = { user: "u", client: "c" };
    await broker.publish("info", 1, { history: H, info });
    const { top } = await broker.history("info", { limit: 0 });
    const r = await broker.history("info", { since: { offset: 0, epoch: top.epoch }, limit: 1 });
    assert.deepEqual(r.publications[0].info, info);
  });

  test("join and leave events reach subscribed nodes", async (b) => {
    const info = { user: "u", client: "c1" };
    await b.broker.subscribe("p");
    await b.broker.publishJoinLeave("p", "join", info);
    await b.broker.publishJoinLeave("p", "leave", info);
    await until(() => b.seen.events.length >= 2);
    assert.deepEqual(b.seen.events, [["join", "p", info], ["leave", "p", info]]);
  });

  test("presence adds, lists and removes members", async ({ presence }) => {
    await presence.add("room", "c1", { user: "a", client: "c1" }, 60_000);
    await presence.add("room", "c2", { user: "b", client: "c2" }, 60_000);
    await presence.remove("room", "c1");
    assert.deepEqual(await presence.get("room"), { c2: { user: "b", client: "c2" } });
    assert.deepEqual(await presence.get("empty"), {});
  });
}
