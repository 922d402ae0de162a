/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff and Jitter"): the n-th delay is uniform in [0, min(max, min · 2^n)].
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * Bounds of a {@linkcode Backoff}.
 *
 * @example
 * ```ts
 * import { Backoff, type BackoffOptions } from "./backoff.ts";
 * const options: BackoffOptions = { minMs: 100, maxMs: 5000 };
 * new Backoff(options);
 * ```
 */
export interface BackoffOptions {
  /** Cap of the first delay (ms). Default 250. */
  minMs?: number;
  /** Largest delay (ms). Default 10 000. */
  maxMs?: number;
  /** Uniform random in [0, 1); injected for tests. */
  random?: () => number;
}

/**
 * Delays between reconnect rounds.
 *
 * @example
 * ```ts
 * import { Backoff } from "./backoff.ts";
 * const b = new Backoff({ minMs: 250, maxMs: 10_000 });
 * b.next(); // 0..250
 * b.next(); // 0..500
 * b.reset(); // after a successful connect
 * ```
 */
export class Backoff {
  readonly minMs: number;
  readonly maxMs: number;
  #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.minMs = Math.max(0, options.minMs ?? 250);
    this.maxMs = Math.max(this.minMs, options.maxMs ?? 10_000);
    this.#random = options.random ?? Math.random;
  }

  /** Delays handed out since the last reset. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The cap of the next delay (ms). */
  get ceiling(): number {
    return Math.min(this.maxMs, this.minMs * 2 ** Math.min(this.#attempt, 52));
  }

  /** The next delay (ms), then grow the cap. */
  next(): number {
    const delay = Math.floor(this.#random() * (this.ceiling + 1));
    this.#attempt += 1;
    return Math.min(delay, this.maxMs);
  }

  /** Start over from `minMs`. */
  reset(): void {
    this.#attempt = 0;
  }
}
