import assert from "node:assert/strict";
import { Subscriptions } from "./subscriptions.ts";
import { SwitchyardClientError } from "./client_error.ts";
import type { Publication } from "./subscription.ts";

function make() {
  const pubs: Publication[] = [];
  const recoveries: { channel: string; recovered: boolean }[] = [];
  const subs = new Subscriptions({
    publication: (p) => pubs.push(p),
    recovery: (r) => recoveries.push(r),
  });
  return { subs, pubs, recoveries };
}

const noUnsub = () => Promise.resolve();
const pub = (channel: string, offset: number, epoch = "e") => ({
  type: "pub" as const,
  channel,
  offset,
  epoch,
  data: offset,
});

Deno.test("Subscriptions.plan() sends what brings the server to the wanted set, once", () => {
  const { subs } = make();
  const a = subs.add("a", { onPublication() {} }, noUnsub);
  subs.add("b", { onPublication() {} }, noUnsub);
  assert.deepEqual(subs.plan().subscribe.map((s) => s.channel), ["a", "b"]);
  assert.deepEqual(subs.plan(), { subscribe: [], unsubscribe: [] });
  subs.remove(a, new Error("bye"));
  assert.deepEqual(subs.plan(), { subscribe: [], unsubscribe: ["a"] });
});

Deno.test("Subscriptions.snapshot() carries each channel from its last position", () => {
  const { subs } = make();
  subs.add("a", { onPublication() {}, since: { offset: 3, epoch: "e" }, token: "t" }, noUnsub);
  const b = subs.add("b", { onPublication() {} }, noUnsub);
  subs.installed(subs.snapshot(), {
    b: { recovered: false, wasRecovering: false, offset: 7, epoch: "f" },
  });
  subs.publication(pub("b", 8, "f"));
  assert.deepEqual(subs.snapshot().subs, {
    a: { since: { offset: 3, epoch: "e" }, token: "t" },
    b: { since: { offset: 8, epoch: "f" } },
  });
  assert.deepEqual(b.position, { offset: 8, epoch: "f" });
});

Deno.test("Subscriptions.installed() makes the snapshot the server's set and resolves ready", async () => {
  const { subs, recoveries } = make();
  const a = subs.add("a", { onPublication() {}, since: { offset: 3, epoch: "e" } }, noUnsub);
  const snap = subs.snapshot();
  const late = subs.add("late", { onPublication() {} }, noUnsub);
  subs.installed(snap, { a: { recovered: true, wasRecovering: true, offset: 9, epoch: "e" } });
  assert.equal((await a.ready).recovered, true);
  assert.deepEqual(recoveries, [{ channel: "a", recovered: true }]);
  assert.deepEqual(subs.plan().subscribe, [late], "added after the snapshot: still to send");
});

Deno.test("Subscriptions.publication() dedupes and reports a new epoch as a gap", () => {
  const { subs, pubs, recoveries } = make();
  const got: number[] = [];
  subs.add("a", { onPublication: (p) => got.push(p.offset) }, noUnsub);
  for (const o of [1, 2, 2, 1, 3]) subs.publication(pub("a", o));
  subs.publication(pub("a", 1, "new"));
  subs.publication(pub("other", 1));
  assert.deepEqual(got, [1, 2, 3, 1]);
  assert.equal(pubs.length, 4);
  assert.deepEqual(recoveries, [{ channel: "a", recovered: false }]);
});

Deno.test("Subscriptions.unsubscribed() ends the subscription and tells the application", async () => {
  const { subs } = make();
  const told: { code: string; reason: string }[] = [];
  const a = subs.add("a", { onPublication() {}, onUnsubscribed: (e) => told.push(e) }, noUnsub);
  subs.plan();
  const err = new SwitchyardClientError("ERR_FORBIDDEN", "no longer allowed");
  assert.equal(subs.unsubscribed("a", err), a);
  await assert.rejects(a.ready, (e) => e === err);
  assert.deepEqual(told, [{ code: "ERR_FORBIDDEN", reason: "no longer allowed" }]);
  assert.equal(a.handle.active, false);
  assert.deepEqual(subs.plan(), { subscribe: [], unsubscribe: [] }, "the server dropped it itself");
});
