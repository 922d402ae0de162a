import assert from "node:assert/strict";
import { TransportCache, transportCacheKey } from "./transport_cache.ts";
import { MemoryStorage } from "./_test_storage.ts";

const ORIGIN = "http://localhost:4480";

Deno.test("TransportCache.recall() returns what was remembered until it expires", () => {
  let now = 1_000;
  const storage = new MemoryStorage();
  const cache = new TransportCache({ storage, rememberMs: 500, now: () => now });
  assert.equal(cache.recall(ORIGIN), null);
  cache.remember(ORIGIN, "websocket");
  assert.deepEqual(JSON.parse(storage.getItem(transportCacheKey(ORIGIN))!), {
    kind: "websocket",
    expires: 1_500,
  });
  now = 1_499;
  assert.equal(cache.recall(ORIGIN), "websocket");
  assert.equal(cache.recall("http://other:1"), null);
  now = 1_500;
  assert.equal(cache.recall(ORIGIN), null);
  assert.equal(storage.getItem(transportCacheKey(ORIGIN)), null, "expired entry removed");
});

Deno.test("TransportCache.recall() ignores garbage and unknown kinds", () => {
  const storage = new MemoryStorage();
  const cache = new TransportCache({ storage, rememberMs: 500 });
  storage.setItem(transportCacheKey(ORIGIN), "{not json");
  assert.equal(cache.recall(ORIGIN), null);
  storage.setItem(
    transportCacheKey(ORIGIN),
    JSON.stringify({ kind: "pigeon", expires: Date.now() + 1e6 }),
  );
  assert.equal(cache.recall(ORIGIN), null);
});

Deno.test("TransportCache survives a storage that throws and works without one", () => {
  const throwing = {
    getItem(): string | null {
      throw new Error("SecurityError");
    },
    setItem(): void {
      throw new Error("QuotaExceededError");
    },
    removeItem(): void {
      throw new Error("SecurityError");
    },
  };
  const cache = new TransportCache({ storage: throwing, rememberMs: 500 });
  cache.remember(ORIGIN, "sse");
  assert.equal(cache.recall(ORIGIN), null);
  cache.forget(ORIGIN);
  const none = new TransportCache({ storage: null, rememberMs: 500 });
  none.remember(ORIGIN, "sse");
  assert.equal(none.recall(ORIGIN), null);
});
