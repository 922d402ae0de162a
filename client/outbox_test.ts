import assert from "node:assert/strict";
import fc from "fast-check";
import { Outbox } from "./outbox.ts";

Deno.test("Outbox.add() numbers ids for the lifetime and seqs only publish and rpc", () => {
  const o = new Outbox();
  const a = o.add({ type: "publish", channel: "c", data: 1 }).entry;
  const connectId = o.allocateId();
  const b = o.add({ type: "presence", channel: "c" }).entry;
  const c = o.add({ type: "rpc", method: "m" }).entry;
  assert.deepEqual([a.id, connectId, b.id, c.id], [1, 2, 3, 4]);
  assert.deepEqual([a.seq, b.seq, c.seq], [1, undefined, 2]);
  assert.equal(a.text, '{"type":"publish","channel":"c","data":1,"id":1,"seq":1}');
  assert.equal(b.text, '{"type":"presence","channel":"c","id":3}');
  assert.equal(o.nextSeq, 3);
});

Deno.test("Outbox.unsentOn() lists resendable entries not sent on a link, in seq order", () => {
  const o = new Outbox();
  const link1 = {};
  const link2 = {};
  const p1 = o.add({ type: "publish", channel: "c", data: 1 }).entry;
  const sub = o.add({ type: "subscribe", channel: "c" }).entry;
  const p2 = o.add({ type: "rpc", method: "m" }).entry;
  p1.sentOn = link1;
  sub.sentOn = link1;
  assert.deepEqual(o.unsentOn(link1).map((e) => e.id), [p2.id]);
  assert.deepEqual(o.unsentOn(link2).map((e) => e.id), [p1.id, p2.id], "subscribe is not resent");
});

Deno.test("Outbox.take() settles once; a late or repeated reply finds nothing", async () => {
  const o = new Outbox();
  const { entry, promise } = o.add({ type: "publish", channel: "c", data: 1 });
  o.take(entry.id)!.resolve("first");
  assert.equal(o.take(entry.id), undefined);
  assert.equal(await promise, "first");
  assert.equal(o.size, 0);
});

Deno.test("Outbox.rejectAll() rejects every pending request", async () => {
  const o = new Outbox();
  const a = o.add({ type: "publish", channel: "c", data: 1 }).promise;
  const b = o.add({ type: "rpc", method: "m" }).promise;
  o.rejectAll(new Error("closed"));
  await assert.rejects(a, /closed/);
  await assert.rejects(b, /closed/);
  assert.equal(o.size, 0);
});

/**
 * A fake server with the session rules of docs/protocol.md: each seq is applied
 * once and a repeat gets the first answer. Connections lose frames both ways
 * when they drop; the client resends on each new connection.
 */
type Step =
  | { type: "send" }
  | { type: "deliver"; n: number }
  | { type: "reply"; n: number; lose: boolean }
  | { type: "duplicate" }
  | { type: "drop" };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.constant({ type: "send" as const }),
  fc.record({ type: fc.constant("deliver" as const), n: fc.integer({ min: 1, max: 4 }) }),
  fc.record({
    type: fc.constant("reply" as const),
    n: fc.integer({ min: 1, max: 4 }),
    lose: fc.boolean(),
  }),
  fc.constant({ type: "duplicate" as const }),
  fc.constant({ type: "drop" as const }),
);

Deno.test("Outbox with resend after every drop: each publish applied once and settled once", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { maxLength: 120 }), async (steps) => {
      const outbox = new Outbox();
      const applied = new Map<number, number>(); // seq → times applied
      const answers = new Map<number, unknown>(); // seq → first answer
      let link = {};
      let toServer: string[] = [];
      let toClient: { id: number; result: unknown }[] = [];
      const settled = new Map<number, unknown[]>();
      let sent = 0;
      const send = (text: string) => toServer.push(text);
      const serverHandle = (text: string) => {
        const f = JSON.parse(text);
        if (!answers.has(f.seq)) {
          applied.set(f.seq, (applied.get(f.seq) ?? 0) + 1);
          answers.set(f.seq, { offset: f.seq });
        }
        toClient.push({ id: f.id, result: answers.get(f.seq) });
      };
      const clientHandle = (reply: { id: number; result: unknown }) => {
        const entry = outbox.take(reply.id);
        entry?.resolve(reply.result);
      };
      const reconnect = () => {
        link = {};
        toServer = [];
        toClient = [];
        for (const e of outbox.unsentOn(link)) {
          e.sentOn = link;
          send(e.text);
        }
      };
      for (const s of steps) {
        switch (s.type) {
          case "send": {
            const { entry, promise } = outbox.add({ type: "publish", channel: "c", data: ++sent });
            promise.then((r) => settled.set(entry.seq!, [...(settled.get(entry.seq!) ?? []), r]));
            entry.sentOn = link;
            send(entry.text);
            break;
          }
          case "deliver":
            for (const text of toServer.splice(0, s.n)) serverHandle(text);
            break;
          case "reply":
            for (const r of toClient.splice(0, s.n)) if (!s.lose) clientHandle(r);
            break;
          case "duplicate":
            if (toServer.length > 0) toServer.splice(1, 0, toServer[0]);
            break;
          case "drop":
            reconnect();
            break;
        }
      }
      // The network heals: one last connection delivers everything.
      reconnect();
      while (toServer.length > 0 || toClient.length > 0) {
        for (const text of toServer.splice(0)) serverHandle(text);
        for (const r of toClient.splice(0)) clientHandle(r);
      }
      await Promise.resolve();
      assert.equal(outbox.size, 0, "nothing left pending");
      for (let seq = 1; seq <= sent; seq++) {
        assert.equal(applied.get(seq), 1, `seq ${seq} applied once`);
        assert.deepEqual(settled.get(seq), [{ offset: seq }], `seq ${seq} settled once`);
      }
    }),
    { seed: 5, numRuns: 300 },
  );
});

Deno.test("Outbox.add() refuses a frame over maxBytes without using a seq", () => {
  const o = new Outbox();
  assert.throws(() =>
    o.add({ type: "publish", channel: "c", data: "x".repeat(100) }, undefined, 64)
  );
  const next = o.add({ type: "publish", channel: "c", data: 1 }, undefined, 64).entry;
  assert.equal(next.seq, 1, "no gap in the seqs the server sees");
  assert.equal(next.id, 1);
});
