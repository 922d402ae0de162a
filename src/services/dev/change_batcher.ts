/**
 * Groups the burst of file events one save produces into a single live-reload
 * decision: swap the stylesheets, or reload the page.
 *
 * This module is browser compatible: it touches no Deno API, and its clock is injected.
 *
 * @module
 */

/**
 * What happened to a path:
 *
 * - `create`, `modify`: the file exists and has new content.
 * - `rename`: the file now exists under this name, moved from elsewhere. Editors save this way
 *   (write a temp file, rename it over the original), so a rename into place is a save.
 * - `remove`: the path is gone, or was the old name of a move.
 */
export type ChangeKind = "create" | "modify" | "remove" | "rename";

/** One file event. */
export interface ChangeEvent {
  /** Relative to the served root, with forward slashes; `""` is the root itself. */
  path: string;
  kind: ChangeKind;
  /** When it happened, in milliseconds on the batcher's clock. */
  at: number;
}

/**
 * A debounced group of changes and what browsers should do about it.
 *
 * `css` only when every event was a create, modify or rename of a `.css` path; anything else
 * (HTML, scripts, images, a removal, a mix) is `reload`, because a full reload also picks up
 * the new CSS.
 */
export interface ChangeBatch {
  kind: "reload" | "css";
  /** Each changed path once, in first-seen order. */
  paths: string[];
  /** Earliest and latest `at` of the events in the batch. */
  firstAt: number;
  lastAt: number;
}

/** The clock and timer a {@linkcode ChangeBatcher} uses; tests pass a fake one. */
export interface BatchClock {
  now(): number;
  /** Returns an id that `clearTimeout` accepts. */
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Options of {@linkcode ChangeBatcher}. */
export interface ChangeBatcherOptions {
  /** Called once per batch, in order. Events pushed from inside it go into the next batch. */
  onBatch(batch: ChangeBatch): void;
  /**
   * Quiet time after the last event before a batch is emitted. Default 3 ms: the events of one
   * save (truncate, write, or write a temp file and rename it) come well within it.
   */
  quietMs?: number;
  /**
   * Quiet time instead of `quietMs` while some path's latest event is a removal. Default 60 ms:
   * editors that save by deleting and re-creating a file (or moving it away first) would
   * otherwise reload the page into a 404 between the two steps.
   */
  removalQuietMs?: number;
  /** Longest wait after the first event of a batch, so a steady stream still flushes. Default 100 ms. */
  maxWaitMs?: number;
  /** Default: `Date.now`, `setTimeout` and `clearTimeout` of `globalThis`. */
  clock?: BatchClock;
}

const SYSTEM_CLOCK: BatchClock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

interface Pending {
  paths: Set<string>;
  css: boolean;
  /** Paths whose latest event is a removal. */
  removed: Set<string>;
  firstAt: number;
  lastAt: number;
  /** Clock time of the first event: the max-wait deadline counts from here. */
  openedAt: number;
}

/**
 * Debounces file events into {@linkcode ChangeBatch}es.
 *
 * A batch is emitted when no event has arrived for `quietMs` (`removalQuietMs` while a path's
 * latest event is a removal), or `maxWaitMs` after its first event, whichever is sooner. No event is dropped: each lands in exactly one batch, and batches
 * are emitted in order.
 *
 * @example
 * ```ts
 * import { ChangeBatcher } from "./change_batcher.ts";
 * const batcher = new ChangeBatcher({ onBatch: (batch) => console.log(batch.kind, batch.paths) });
 * batcher.push({ path: "index.html", kind: "modify", at: Date.now() });
 * batcher.push({ path: "style.css", kind: "modify", at: Date.now() });
 * // ~3 ms later: reload [ "index.html", "style.css" ]
 * ```
 */
export class ChangeBatcher {
  #onBatch: (batch: ChangeBatch) => void;
  #quietMs: number;
  #removalQuietMs: number;
  #maxWaitMs: number;
  #clock: BatchClock;
  #pending: Pending | undefined;
  #timer: unknown;
  #closed = false;

  constructor(options: ChangeBatcherOptions) {
    this.#onBatch = options.onBatch;
    this.#quietMs = Math.max(0, options.quietMs ?? 3);
    this.#removalQuietMs = Math.max(this.#quietMs, options.removalQuietMs ?? 60);
    this.#maxWaitMs = Math.max(this.#quietMs, options.maxWaitMs ?? 100);
    this.#clock = options.clock ?? SYSTEM_CLOCK;
  }

  /** Whether events are waiting to be emitted. */
  get pending(): boolean {
    return this.#pending !== undefined;
  }

  /** Adds an event to the open batch, opening one if needed. Ignored after {@linkcode close}. */
  push(event: ChangeEvent): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    let pending = this.#pending;
    if (!pending) {
      pending = {
        paths: new Set(),
        css: true,
        removed: new Set(),
        firstAt: event.at,
        lastAt: event.at,
        openedAt: now,
      };
      this.#pending = pending;
    }
    pending.paths.add(event.path);
    if (event.kind === "remove") pending.removed.add(event.path);
    else pending.removed.delete(event.path);
    if (event.kind === "remove" || !isCss(event.path)) pending.css = false;
    pending.firstAt = Math.min(pending.firstAt, event.at);
    pending.lastAt = Math.max(pending.lastAt, event.at);
    const quiet = pending.removed.size > 0 ? this.#removalQuietMs : this.#quietMs;
    const deadline = Math.min(now + quiet, pending.openedAt + this.#maxWaitMs);
    this.#schedule(Math.max(0, deadline - now));
  }

  /** Emits the open batch now, if there is one. */
  flush(): void {
    this.#cancelTimer();
    const pending = this.#pending;
    if (!pending) return;
    // Detached before the callback runs, so an event pushed from inside it opens the next batch.
    this.#pending = undefined;
    this.#onBatch({
      kind: pending.css ? "css" : "reload",
      paths: [...pending.paths],
      firstAt: pending.firstAt,
      lastAt: pending.lastAt,
    });
  }

  /** Stops the timer and drops the open batch; later pushes are ignored. */
  close(): void {
    this.#closed = true;
    this.#cancelTimer();
    this.#pending = undefined;
  }

  #schedule(ms: number): void {
    this.#cancelTimer();
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.flush();
    }, ms);
  }

  #cancelTimer(): void {
    if (this.#timer === undefined) return;
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function isCss(path: string): boolean {
  return path.toLowerCase().endsWith(".css");
}
