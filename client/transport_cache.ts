/**
 * Remembers which transport won per origin, with an expiry, so the next page
 * load starts with it instead of waiting for better ones to time out.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { TRANSPORT_KINDS, type TransportKind } from "./transport.ts";

/**
 * The part of the Web Storage API the cache uses.
 *
 * @example
 * ```ts
 * import { SwitchyardClient, type StorageLike } from "./mod.ts";
 * const memory = new Map<string, string>();
 * const storage: StorageLike = {
 *   getItem: (k) => memory.get(k) ?? null,
 *   setItem: (k, v) => void memory.set(k, v),
 *   removeItem: (k) => void memory.delete(k),
 * };
 * new SwitchyardClient("http://localhost:4480", { storage });
 * ```
 */
export type StorageLike = Pick<Storage, "getItem" | "setItem" | "removeItem">;

/**
 * Options of {@linkcode TransportCache}.
 *
 * @example
 * ```ts
 * import { TransportCache, type TransportCacheOptions } from "./transport_cache.ts";
 * const options: TransportCacheOptions = { storage: null, rememberMs: 60_000 };
 * new TransportCache(options);
 * ```
 */
export interface TransportCacheOptions {
  /** Where to keep entries; `null` disables the cache. */
  storage: StorageLike | null;
  /** How long an entry stays valid (ms). */
  rememberMs: number;
  /** Clock (ms since epoch); injected for tests. */
  now?: () => number;
}

/**
 * The storage key for an origin.
 *
 * @example
 * ```ts
 * import { transportCacheKey } from "./transport_cache.ts";
 * transportCacheKey("http://localhost:4480"); // "switchyard:transport:http://localhost:4480"
 * ```
 */
export function transportCacheKey(origin: string): string {
  return `switchyard:transport:${origin}`;
}

/**
 * Per-origin memory of the winning transport. Storage failures (quota, a
 * browser that forbids storage) are ignored: the cache is an optimisation.
 *
 * @example
 * ```ts
 * import { TransportCache } from "./transport_cache.ts";
 * const cache = new TransportCache({ storage: globalThis.localStorage ?? null, rememberMs: 86_400_000 });
 * cache.remember("http://localhost:4480", "websocket");
 * cache.recall("http://localhost:4480"); // "websocket" for the next 24 h
 * ```
 */
export class TransportCache {
  #o: TransportCacheOptions;
  #now: () => number;

  constructor(options: TransportCacheOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The remembered transport for `origin`, or `null` when none or expired. */
  recall(origin: string): TransportKind | null {
    const storage = this.#o.storage;
    if (!storage) return null;
    try {
      const raw = storage.getItem(transportCacheKey(origin));
      if (raw === null) return null;
      const { kind, expires } = JSON.parse(raw);
      if (
        typeof expires === "number" && expires > this.#now() && TRANSPORT_KINDS.includes(kind)
      ) {
        return kind;
      }
      storage.removeItem(transportCacheKey(origin));
    } catch { /* unreadable: treat as absent */ }
    return null;
  }

  /** Remember `kind` for `origin` for `rememberMs`. */
  remember(origin: string, kind: TransportKind): void {
    const storage = this.#o.storage;
    if (!storage) return;
    try {
      storage.setItem(
        transportCacheKey(origin),
        JSON.stringify({ kind, expires: this.#now() + this.#o.rememberMs }),
      );
    } catch { /* quota or forbidden */ }
  }

  /** Forget `origin`'s entry. */
  forget(origin: string): void {
    try {
      this.#o.storage?.removeItem(transportCacheKey(origin));
    } catch { /* forbidden */ }
  }
}

/**
 * `globalThis.localStorage` when the environment has a usable one, else `null`.
 *
 * @example
 * ```ts
 * import { defaultStorage } from "./transport_cache.ts";
 * const storage = defaultStorage(); // null in a worker, localStorage in a page
 * ```
 */
export function defaultStorage(): StorageLike | null {
  try {
    return (globalThis as { localStorage?: StorageLike }).localStorage ?? null;
  } catch {
    // Reading localStorage throws where storage is blocked.
    return null;
  }
}
