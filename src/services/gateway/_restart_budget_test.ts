import assert from "node:assert/strict";
import { RestartBudget } from "./_restart_budget.ts";

Deno.test("RestartBudget.take() doubles the delay up to the cap and refills as the window slides", () => {
  let now = 0;
  let random = 1;
  const budget = new RestartBudget(
    { maxRestarts: 4, windowMs: 1000, backoffMs: [100, 300] },
    () => now,
    () => random,
  );
  assert.deepEqual([budget.take(), budget.take(), budget.take()], [100, 200, 300]);
  random = 0;
  assert.equal(budget.take(), 150);
  assert.equal(budget.take(), undefined);
  now = 999;
  assert.equal(budget.take(), undefined);
  now = 1000;
  assert.deepEqual([budget.take(), budget.take()], [50, 100]);
  budget.reset();
  assert.equal(budget.take(), 50);
});
