import assert from "node:assert/strict";
import fc from "fast-check";
import { Backoff } from "./backoff.ts";

Deno.test("Backoff.next() doubles its cap up to maxMs", () => {
  const b = new Backoff({ minMs: 250, maxMs: 10_000, random: () => 0.999999 });
  const delays = Array.from({ length: 8 }, () => b.next());
  assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
  b.reset();
  assert.equal(b.next(), 250);
});

Deno.test("Backoff.next() is fully jittered: random 0 gives 0", () => {
  const b = new Backoff({ random: () => 0 });
  for (let i = 0; i < 20; i++) assert.equal(b.next(), 0);
});

Deno.test("Backoff.next() stays within [0, min(max, min·2^n)]", () => {
  fc.assert(
    fc.property(
      fc.nat({ max: 5000 }),
      fc.nat({ max: 60_000 }),
      fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 80 }),
      (minMs, extra, randoms) => {
        let i = 0;
        const b = new Backoff({ minMs, maxMs: minMs + extra, random: () => randoms[i++] });
        for (let n = 0; n < randoms.length; n++) {
          const d = b.next();
          assert.ok(Number.isInteger(d) && d >= 0);
          assert.ok(d <= Math.min(minMs + extra, minMs * 2 ** n), `delay ${d} at ${n}`);
        }
      },
    ),
    { seed: 3 },
  );
});
