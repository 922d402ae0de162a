import assert from "node:assert/strict";
import { VerifiedCache } from "./_verified_cache.ts";

Deno.test("VerifiedCache.get() returns what set() stored for the key", () => {
  const cache = new VerifiedCache<{ user: string }>();
  const value = { user: "alice" };
  cache.set("a.b.c", value, 1_000);
  assert.equal(cache.get("a.b.c", 1_000), value);
  assert.equal(cache.get("a.b.d", 1_000), undefined);
  cache.delete("a.b.c");
  assert.equal(cache.get("a.b.c", 1_000), undefined);
});

Deno.test("VerifiedCache.get() serves an entry for less than maxAgeMs, in either clock direction", () => {
  const cache = new VerifiedCache<number>({ maxAgeMs: 60_000 });
  cache.set("t", 1, 100_000);
  assert.equal(cache.get("t", 159_999), 1);
  assert.equal(cache.get("t", 40_001), 1);
  assert.equal(cache.get("t", 160_000), undefined);
  assert.equal(cache.get("t", 100_000), undefined, "a stale entry is dropped, not kept");

  cache.set("t", 2, 100_000);
  assert.equal(cache.get("t", 40_000), undefined, "a clock set back a minute drops it too");
});

Deno.test("VerifiedCache.set() keeps at most maxEntries, dropping the oldest first", () => {
  const cache = new VerifiedCache<number>({ maxEntries: 3 });
  for (let i = 0; i < 5; i++) cache.set(`t${i}`, i, 0);
  assert.equal(cache.size, 3);
  assert.deepEqual(["t0", "t1", "t2", "t3", "t4"].map((k) => cache.get(k, 0)), [
    undefined,
    undefined,
    2,
    3,
    4,
  ]);

  cache.set("t2", 20, 0);
  cache.set("t5", 5, 0);
  assert.deepEqual(["t2", "t3", "t4", "t5"].map((k) => cache.get(k, 0)), [20, undefined, 4, 5]);
});

Deno.test("VerifiedCache.set() ignores keys longer than maxKeyLength", () => {
  const cache = new VerifiedCache<number>({ maxKeyLength: 8 });
  cache.set("x".repeat(8), 1, 0);
  cache.set("x".repeat(9), 2, 0);
  assert.equal(cache.get("x".repeat(8), 0), 1);
  assert.equal(cache.get("x".repeat(9), 0), undefined);
  assert.equal(cache.size, 1);
});
