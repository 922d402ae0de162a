/**
 * Applies each client sequence number once and remembers recent outcomes, so a
 * resent publish or RPC gets its first reply instead of a second effect.
 *
 * This module is browser compatible.
 *
 * @module
 */
import type { ErrorCode } from "./errors.ts";

/** The outcome of a request: a result or an error reply. */
export type Outcome = { result: unknown } | { error: { code: ErrorCode; message: string } };

/**
 * Remembers the outcomes of the last `size` sequence numbers.
 *
 * @example
 * ```ts
 * import { SequenceWindow } from "./sequence_window.ts";
 * const w = new SequenceWindow(1024);
 * const first = w.run(1, () => Promise.resolve({ result: "once" }));
 * const again = w.run(1, () => Promise.resolve({ result: "twice" })); // resolves to "once"
 * ```
 */
export class SequenceWindow {
  #size: number;
  // Created on first use: most sessions never publish, and each empty collection costs memory.
  #outcomes: Map<number, Promise<Outcome>> | undefined;
  #floor = 0;
  #above: Set<number> | undefined;
  #started = false;

  constructor(size: number) {
    this.#size = Math.max(1, size);
  }

  /** Every sequence number up to this one has been applied. */
  get floor(): number {
    return this.#floor;
  }

  /** `true` until the first `run()`. */
  get idle(): boolean {
    return this.#started === false;
  }

  /**
   * Run `apply` for `seq` unless it ran already; either way resolve with its outcome.
   * The first seq a window sees sets its floor: a client's sends arrive in order.
   * A seq older than the window resolves to `{ result: { duplicate: true } }`.
   */
  run(seq: number, apply: () => Promise<Outcome>): { outcome: Promise<Outcome>; fresh: boolean } {
    if (!this.#started) {
      // A session that a client with an earlier session makes starts where the client is.
      this.#started = true;
      this.#floor = seq - 1;
    }
    const outcomes = this.#outcomes ??= new Map();
    const known = outcomes.get(seq);
    if (known) return { outcome: known, fresh: false };
    if (seq <= this.#floor || this.#above?.has(seq)) {
      return { outcome: Promise.resolve({ result: { duplicate: true } }), fresh: false };
    }
    const outcome = apply();
    outcomes.set(seq, outcome);
    if (outcomes.size > this.#size) {
      const oldest = outcomes.keys().next().value!;
      outcomes.delete(oldest);
    }
    this.#mark(seq);
    return { outcome, fresh: true };
  }

  #mark(seq: number): void {
    if (seq !== this.#floor + 1) {
      (this.#above ??= new Set()).add(seq);
      return;
    }
    this.#floor = seq;
    while (this.#above?.delete(this.#floor + 1)) this.#floor += 1;
  }
}
