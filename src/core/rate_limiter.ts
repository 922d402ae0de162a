/**
 * A token bucket: `rate` tokens per second, at most `burst` saved up.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * Token bucket rate limiter.
 *
 * @example
 * ```ts
 * import { TokenBucket } from "./rate_limiter.ts";
 * const bucket = new TokenBucket({ rate: 10, burst: 2 }, 0);
 * bucket.take(0); // true
 * bucket.take(0); // true
 * bucket.take(0); // false
 * bucket.take(100); // true: one token came back after 100 ms
 * ```
 */
export class TokenBucket {
  #rate: number;
  #burst: number;
  #tokens: number;
  #at: number;

  constructor(options: { rate: number; burst: number }, now: number) {
    this.#rate = options.rate;
    this.#burst = Math.max(1, options.burst);
    this.#tokens = this.#burst;
    this.#at = now;
  }

  /** Take one token at time `now` (ms); `false` when none is left. */
  take(now: number): boolean {
    if (this.#rate <= 0) return true;
    const elapsed = Math.max(0, now - this.#at);
    this.#at = now;
    this.#tokens = Math.min(this.#burst, this.#tokens + (elapsed * this.#rate) / 1000);
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
