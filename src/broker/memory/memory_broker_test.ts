import assert from "node:assert/strict";
import { brokerContract } from "../broker_contract.ts";
import { MemoryBroker, STREAM_IDLE_MS } from "./memory_broker.ts";

brokerContract("MemoryBroker", () => {
  const broker = new MemoryBroker();
  return Promise.resolve({ broker, presence: broker, cleanup: () => Promise.resolve() });
});

Deno.test("MemoryBroker drops history past its TTL and presence past its TTL", async () => {
  let now = 0;
  const broker = new MemoryBroker({ now: () => now });
  await broker.start({ publication() {}, join() {}, leave() {} });
  const policy = { size: 100, ttlMs: 1000 };
  await broker.publish("t", 1, { history: policy });
  now = 2000;
  await broker.publish("t", 2, { history: policy });
  const { top } = await broker.history("t", { limit: 0 });
  const r = await broker.history("t", { since: { offset: 0, epoch: top.epoch }, limit: 10 });
  assert.deepEqual(r.publications.map((p) => p.data), [2]);
  await broker.add("room", "c", { user: "u", client: "c" }, 500);
  now = 3000;
  assert.deepEqual(await broker.get("room"), {});
  await broker.close();
});

Deno.test("MemoryBroker forgets channels idle for an hour; a returning client sees a new epoch", async () => {
  let now = 0;
  const broker = new MemoryBroker({ now: () => now });
  await broker.start({ publication() {}, join() {}, leave() {} });
  await broker.subscribe("listened");
  await broker.publish("listened", 1, { history: { size: 0, ttlMs: 1000 } });
  const first = await broker.publish("idle", 1, { history: { size: 10, ttlMs: 1000 } });
  now = STREAM_IDLE_MS / 2;
  await broker.publish("tick", 1, { history: { size: 0, ttlMs: 1000 } });
  assert.equal(broker.streamCount, 3, "idle for less than an hour: kept");
  now = STREAM_IDLE_MS + 120_000;
  await broker.publish("tick", 2, { history: { size: 0, ttlMs: 1000 } });
  assert.equal(broker.streamCount, 2, "the idle channel is forgotten, the listened one kept");
  const again = await broker.history("idle", { since: first, limit: 10 });
  assert.notEqual(again.top.epoch, first.epoch);
  assert.deepEqual(again.publications, []);
  await broker.close();
});
