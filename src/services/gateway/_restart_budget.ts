/**
 * The restart policy's arithmetic: how many restarts are left in the window and how long to
 * wait before the next one.
 *
 * @module
 */

/**
 * When to restart after a crash: at most `maxRestarts` restarts within `windowMs`, each after
 * a delay of half to all of `min·2ⁿ` capped at `max` (n = restarts so far in the window; the
 * random half spreads sessions that crashed together).
 */
export interface RestartPolicy {
  maxRestarts: number;
  windowMs: number;
  backoffMs: [min: number, max: number];
}

/** 5 restarts in a minute, waiting 0.5 s up to 30 s. */
export const DEFAULT_RESTART: RestartPolicy = {
  maxRestarts: 5,
  windowMs: 60_000,
  backoffMs: [500, 30_000],
};

/** Counts restarts in a sliding window. */
export class RestartBudget {
  #times: number[] = [];

  constructor(
    readonly policy: RestartPolicy,
    readonly now: () => number,
    readonly random: () => number,
  ) {}

  /** Forgets past restarts (an explicit start or restart). */
  reset(): void {
    this.#times = [];
  }

  /** Takes one restart: returns its delay in ms, or undefined when the budget is spent. */
  take(): number | undefined {
    const now = this.now();
    const { maxRestarts, windowMs, backoffMs: [min, max] } = this.policy;
    this.#times = this.#times.filter((t) => now - t < windowMs);
    if (this.#times.length >= maxRestarts) return undefined;
    const capped = Math.min(max, min * 2 ** this.#times.length);
    this.#times.push(now);
    return Math.round(capped / 2 + this.random() * capped / 2);
  }
}
