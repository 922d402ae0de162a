/**
 * A small bounded map from a token to what verifying it produced, so a
 * token presented again and again (the gateway's session cookie on every
 * proxied request) is not verified again and again.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** Limits of a `VerifiedCache`. */
export interface VerifiedCacheOptions {
  /** Most entries kept; storing one more drops the oldest. Default 1,000. */
  maxEntries?: number;
  /** How long an entry is served after it was stored, in milliseconds. Default 60,000. */
  maxAgeMs?: number;
  /** Longer keys are never stored, in UTF-16 code units. Default 8,192. */
  maxKeyLength?: number;
}

interface Entry<T> {
  value: T;
  storedAt: number;
}

/**
 * Remembers values by key for at most `maxAgeMs`, at most `maxEntries` of
 * them, evicting in insertion order (the oldest entry is also the one
 * closest to its age limit).
 *
 * Rules:
 * - It stores whatever the caller puts in: store only what a successful
 *   check produced, so only keys that passed it take space.
 * - Time is the caller's (`now`, milliseconds): an entry is served while
 *   `now` is within `maxAgeMs` of when it was stored, in either direction, so
 *   a clock set back by more than that drops it too.
 * - It does not copy values: callers must not mutate what `get` returns.
 *
 * @example
 * ```ts
 * import { VerifiedCache } from "./_verified_cache.ts";
 * const cache = new VerifiedCache<string>({ maxEntries: 2, maxAgeMs: 60_000 });
 * cache.set("token", "alice", Date.now());
 * cache.get("token", Date.now()); // "alice"
 * ```
 */
export class VerifiedCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #maxEntries: number;
  readonly #maxAgeMs: number;
  readonly #maxKeyLength: number;

  constructor(opts: VerifiedCacheOptions = {}) {
    this.#maxEntries = opts.maxEntries ?? 1_000;
    this.#maxAgeMs = opts.maxAgeMs ?? 60_000;
    this.#maxKeyLength = opts.maxKeyLength ?? 8_192;
  }

  /** Number of entries held, stale ones included until they are looked up or evicted. */
  get size(): number {
    return this.#entries.size;
  }

  /** The value stored for `key`, or `undefined` when there is none or it is too old at `now`. */
  get(key: string, now: number): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (Math.abs(now - entry.storedAt) >= this.#maxAgeMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Store `value` for `key` as of `now`, unless `key` is longer than `maxKeyLength`. */
  set(key: string, value: T, now: number): void {
    if (key.length > this.#maxKeyLength || this.#maxEntries <= 0) return;
    // Deleting first moves a re-stored key to the young end of the insertion order.
    this.#entries.delete(key);
    this.#entries.set(key, { value, storedAt: now });
    while (this.#entries.size > this.#maxEntries) {
      this.#entries.delete(this.#entries.keys().next().value!);
    }
  }

  /** Forget `key`. */
  delete(key: string): void {
    this.#entries.delete(key);
  }
}
