import assert from "node:assert/strict";
import { brokerContract } from "../broker_contract.ts";
import { MemoryBroker } from "./memory_broker.ts";

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
