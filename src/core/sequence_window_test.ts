import assert from "node:assert/strict";
import fc from "fast-check";
import { type Outcome, SequenceWindow } from "./sequence_window.ts";
import { TokenBucket } from "./rate_limiter.ts";

Deno.test("SequenceWindow.run() applies each seq once, in any order and with repeats", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 200 }),
      async (seqs) => {
        const w = new SequenceWindow(64);
        const applied: number[] = [];
        for (const seq of seqs) {
          const { outcome } = w.run(seq, () => {
            applied.push(seq);
            return Promise.resolve({ result: seq } as Outcome);
          });
          const o = await outcome;
          assert.ok("result" in o);
        }
        assert.deepEqual(applied, [...new Set(seqs.filter((s) => s >= seqs[0]))]);
        if (seqs.length > 0) {
          let floor = seqs[0] - 1;
          while (seqs.includes(floor + 1)) floor += 1;
          assert.equal(w.floor, floor);
        }
      },
    ),
  );
});

Deno.test("SequenceWindow.run() repeats the first outcome, even while pending", async () => {
  const w = new SequenceWindow(4);
  let resolve!: (o: Outcome) => void;
  const first = w.run(1, () => new Promise((r) => resolve = r));
  const again = w.run(1, () => Promise.resolve({ result: "second" }));
  assert.equal(again.fresh, false);
  resolve({ result: "first" });
  assert.deepEqual(await again.outcome, { result: "first" });
  assert.deepEqual(await first.outcome, { result: "first" });
});

Deno.test("TokenBucket.take() allows the burst, then the rate", () => {
  const b = new TokenBucket({ rate: 10, burst: 3 }, 0);
  assert.deepEqual([b.take(0), b.take(0), b.take(0), b.take(0)], [true, true, true, false]);
  assert.equal(b.take(99), false);
  assert.equal(b.take(100), true);
  const unlimited = new TokenBucket({ rate: 0, burst: 1 }, 0);
  for (let i = 0; i < 100; i++) assert.equal(unlimited.take(0), true);
});
