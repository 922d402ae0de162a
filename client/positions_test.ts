import assert from "node:assert/strict";
import fc from "fast-check";
import { acceptPublication, applySubscribeResult } from "./positions.ts";
import type { StreamPosition } from "../src/core/protocol.ts";

const at = (offset: number, epoch = "e"): StreamPosition => ({ offset, epoch });

Deno.test("acceptPublication() drops offsets at or below the last one within an epoch", () => {
  assert.deepEqual(acceptPublication(at(5), at(4)), {
    deliver: false,
    position: at(5),
    reset: false,
  });
  assert.equal(acceptPublication(at(5), at(5)).deliver, false);
  assert.deepEqual(acceptPublication(at(5), at(6)), {
    deliver: true,
    position: at(6),
    reset: false,
  });
  assert.deepEqual(acceptPublication(null, at(6)), {
    deliver: true,
    position: at(6),
    reset: false,
  });
});

Deno.test("acceptPublication() takes a new epoch as a reset", () => {
  assert.deepEqual(acceptPublication(at(5), at(1, "f")), {
    deliver: true,
    position: at(1, "f"),
    reset: true,
  });
});

Deno.test("acceptPublication() delivers each offset once under duplicates and reordering", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 30 }), { maxLength: 200 }),
      (offsets) => {
        let last: StreamPosition | null = null;
        const delivered: number[] = [];
        for (const o of offsets) {
          const v = acceptPublication(last, at(o));
          if (v.deliver) delivered.push(o);
          last = v.position;
        }
        // Strictly increasing: never a duplicate, never backwards.
        for (let i = 1; i < delivered.length; i++) assert.ok(delivered[i] > delivered[i - 1]);
        // In-order input with repeats loses nothing.
        const sorted = [...offsets].sort((a, b) => a - b);
        let l2: StreamPosition | null = null;
        const out: number[] = [];
        for (const o of sorted) {
          const v = acceptPublication(l2, at(o));
          if (v.deliver) out.push(o);
          l2 = v.position;
        }
        assert.deepEqual(out, [...new Set(sorted)]);
      },
    ),
    { seed: 11 },
  );
});

Deno.test("applySubscribeResult() keeps the position when the server recovers", () => {
  const r = { recovered: true, wasRecovering: true, offset: 9, epoch: "e" };
  assert.deepEqual(applySubscribeResult(at(3), true, r), { position: at(3), recovered: true });
});

Deno.test("applySubscribeResult() jumps to the top and reports a gap when not recovered", () => {
  const r = { recovered: false, wasRecovering: true, offset: 9, epoch: "e" };
  assert.deepEqual(applySubscribeResult(at(3), true, r), { position: at(9), recovered: false });
  const newEpoch = { recovered: false, wasRecovering: true, offset: 2, epoch: "f" };
  assert.deepEqual(applySubscribeResult(at(3), true, newEpoch), {
    position: at(2, "f"),
    recovered: false,
  });
});

Deno.test("applySubscribeResult() reports nothing for a fresh subscription", () => {
  const r = { recovered: false, wasRecovering: false, offset: 9, epoch: "e" };
  assert.deepEqual(applySubscribeResult(null, false, r), { position: at(9), recovered: null });
});

Deno.test("applySubscribeResult() reports a gap even without since once pubs were received", () => {
  const r = { recovered: false, wasRecovering: false, offset: 9, epoch: "e" };
  assert.deepEqual(applySubscribeResult(at(4), false, r), { position: at(9), recovered: false });
  assert.deepEqual(applySubscribeResult(at(9), false, r), { position: at(9), recovered: null });
});
