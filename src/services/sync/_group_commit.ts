/**
 * Group commit for `DocManager`: items added before the next turn of the event loop
 * go to the store as one batch. Private to this folder.
 *
 * @module
 */
import { clearImmediate, setImmediate } from "node:timers";

/**
 * Collects items and hands them to `run` as one batch on the next turn of the event loop
 * (`setImmediate`: after the I/O callbacks of this turn, unclamped unlike `setTimeout(0)`).
 * One batch runs at a time; items added meanwhile form the next batch, so batches keep order.
 */
export class GroupCommit<T> {
  readonly #run: (batch: T[]) => Promise<void>;
  #queue: T[] = [];
  #timer: ReturnType<typeof setImmediate> | undefined;
  #inflight: Promise<void> | undefined;

  /** `run` must not reject: it settles the batch's items itself. */
  constructor(run: (batch: T[]) => Promise<void>) {
    this.#run = run;
  }

  /** Queues `item` for the next batch. */
  add(item: T): void {
    this.#queue.push(item);
    this.#timer ??= setImmediate(() => {
      this.#timer = undefined;
      void this.#flush();
    });
  }

  /** Takes the queued items that match out of the queue (not those of a running batch). */
  take(match: (item: T) => boolean): T[] {
    const taken = this.#queue.filter(match);
    if (taken.length > 0) this.#queue = this.#queue.filter((item) => !match(item));
    return taken;
  }

  /** Runs what is queued now and resolves once nothing is queued or running. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#inflight) await (this.#inflight ?? this.#flush());
    if (this.#timer) clearImmediate(this.#timer);
    this.#timer = undefined;
  }

  #flush(): Promise<void> {
    if (this.#inflight) return this.#inflight;
    if (this.#queue.length === 0) return Promise.resolve();
    const batch = this.#queue;
    this.#queue = [];
    this.#inflight = this.#run(batch).finally(() => {
      this.#inflight = undefined;
      if (this.#queue.length > 0) void this.#flush();
    });
    return this.#inflight;
  }
}
