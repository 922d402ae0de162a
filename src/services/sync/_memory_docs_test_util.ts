/**
 * An in-memory {@linkcode DocManagerApi} for the endpoint tests: real Y.Docs
 * and Awareness, a global seq counter, listeners called after a simulated
 * (asynchronous) commit. Documents are kept after `release` (they stand in
 * for the store). Test-only.
 *
 * @module
 */

import * as Y from "yjs";
import { Awareness } from "y-protocols/awareness";
import { SyncError } from "./sync_error.ts";
import type { CommittedUpdate, DocManagerApi, LoadedDoc, UpdateOrigin } from "./types.ts";

/** Limits of {@linkcode MemoryDocs}; defaults 1 MiB per update, 10 MiB per document. */
export interface MemoryDocsOptions {
  maxUpdateBytes?: number;
  maxDocBytes?: number;
}

interface Entry extends LoadedDoc {
  bytes: number;
  holds: number;
}

/** Documents in memory, behind the same contract as the real manager. */
export class MemoryDocs implements DocManagerApi {
  readonly #docs = new Map<string, Entry>();
  readonly #updateListeners = new Set<(committed: CommittedUpdate) => void>();
  readonly #resetListeners = new Set<(doc: string) => void>();
  readonly #maxUpdateBytes: number;
  readonly #maxDocBytes: number;
  #seq = 0;
  #gate: Promise<void> | undefined;
  #opening = 0;

  constructor(options: MemoryDocsOptions = {}) {
    this.#maxUpdateBytes = options.maxUpdateBytes ?? 1_048_576;
    this.#maxDocBytes = options.maxDocBytes ?? 10_485_760;
  }

  open(name: string): Promise<LoadedDoc> {
    if (name === "" || new TextEncoder().encode(name).length > 512 || /\p{Cc}/u.test(name)) {
      return Promise.reject(new SyncError("ERR_BAD_DOC_NAME", `Bad document name ${name}`));
    }
    let entry = this.#docs.get(name);
    if (!entry) {
      const doc = new Y.Doc();
      const awareness = new Awareness(doc);
      awareness.setLocalState(null);
      entry = { name, doc, awareness, bytes: 0, holds: 0 };
      this.#docs.set(name, entry);
    }
    entry.holds++;
    this.#opening++;
    const gate = this.#gate;
    // A real load is asynchronous: make sure callers cope with that.
    return new Promise((resolve) => setTimeout(resolve, 0))
      .then(() => gate)
      .then(() => {
        this.#opening--;
        return entry;
      });
  }

  /** Hold every `open` from now until the returned function is called. */
  pauseOpens(): () => void {
    let resume!: () => void;
    this.#gate = new Promise((resolve) => resume = resolve);
    return () => {
      this.#gate = undefined;
      resume();
    };
  }

  /** Calls of `open` that have not resolved yet. */
  get opening(): number {
    return this.#opening;
  }

  release(name: string): void {
    const entry = this.#docs.get(name);
    if (!entry || entry.holds === 0) throw new Error(`release("${name}") without open`);
    entry.holds--;
  }

  async apply(name: string, update: Uint8Array, origin: UpdateOrigin): Promise<number> {
    const entry = this.#docs.get(name);
    if (!entry || entry.holds === 0) throw new Error(`apply("${name}") without open`);
    if (update.length > this.#maxUpdateBytes) {
      throw new SyncError("ERR_UPDATE_TOO_LARGE", `Update of ${update.length} bytes is too large`);
    }
    if (entry.bytes + update.length > this.#maxDocBytes) {
      throw new SyncError("ERR_DOC_TOO_LARGE", `Document "${name}" is full`);
    }
    try {
      if (Y.snapshotContainsUpdate(Y.snapshot(entry.doc), update)) return 0;
      Y.decodeUpdate(update);
    } catch (err) {
      throw new SyncError("ERR_BAD_UPDATE", "Not a Yjs update", { cause: err });
    }
    Y.applyUpdate(entry.doc, update, origin);
    entry.bytes += update.length;
    const seq = ++this.#seq;
    await new Promise((resolve) => setTimeout(resolve, 0));
    for (const listener of this.#updateListeners) listener({ doc: name, update, origin, seq });
    return seq;
  }

  onUpdate(listener: (committed: CommittedUpdate) => void): () => void {
    this.#updateListeners.add(listener);
    return () => this.#updateListeners.delete(listener);
  }

  onReset(listener: (doc: string) => void): () => void {
    this.#resetListeners.add(listener);
    return () => this.#resetListeners.delete(listener);
  }

  /** How many holds `name` has (open minus release). */
  holds(name: string): number {
    return this.#docs.get(name)?.holds ?? 0;
  }

  /** The document's current content, or undefined if never opened. */
  doc(name: string): Y.Doc | undefined {
    return this.#docs.get(name)?.doc;
  }

  /**
   * Simulate a store failure: tell the reset listeners. The content is kept, and so are the
   * holds (as in `DocManager`, every `open` is still matched by one `release`).
   */
  reset(name: string): void {
    for (const listener of this.#resetListeners) listener(name);
  }

  /** Destroy every document and awareness (stops the awareness timers). */
  close(): void {
    for (const entry of this.#docs.values()) {
      entry.awareness.destroy();
      entry.doc.destroy();
    }
    this.#docs.clear();
  }
}
