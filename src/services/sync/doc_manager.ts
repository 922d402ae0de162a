/**
 * Documents in memory: loads them from the store, applies updates durably (group commit),
 * tells listeners in commit order, compacts logs and unloads idle documents. No HTTP or
 * WebSocket here: the endpoints use {@linkcode DocManagerApi}.
 *
 * @module
 */
import { setImmediate } from "node:timers";
import * as Y from "yjs";
import type { Logger } from "../../core/mod.ts";
import { checkDocName, describe, DocEntry as Entry } from "./_doc_entry.ts";
import { GroupCommit } from "./_group_commit.ts";
import type { AppendEntry, StoredDoc } from "./doc_store.ts";
import { SyncError } from "./sync_error.ts";
import type {
  CommittedUpdate,
  DocManagerApi,
  LoadedDoc,
  SyncLimits,
  UpdateOrigin,
} from "./types.ts";

/**
 * The storage a {@linkcode DocManager} needs; `DocStore` is one. Each method may return a
 * promise (a remote store). `append` stores the batch in one transaction, durably, and returns
 * the seqs in batch order; it throws (or rejects) when nothing was stored.
 */
export interface DocManagerStore {
  load(doc: string): StoredDoc | Promise<StoredDoc>;
  append(batch: readonly AppendEntry[]): number[] | Promise<number[]>;
  compact(doc: string, snapshot: Uint8Array, uptoSeq: number): void | Promise<void>;
}

/** The timer of idle unloads; tests pass a fake one. */
export interface DocTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Receives timings for the metrics layer. */
export interface DocManagerObserver {
  /** One store transaction of `updates` updates took `seconds`. */
  commit?(seconds: number, updates: number): void;
}

/** Options of {@linkcode DocManager}. */
export interface DocManagerOptions {
  store: DocManagerStore;
  limits: SyncLimits;
  /** Unload a document this long after its last release. Default 30000. */
  unloadAfterMs?: number;
  /** Compact a document's log once it has more updates than this. Default 500. */
  compactAfterUpdates?: number;
  log?: Logger;
  timers?: DocTimers;
  observer?: DocManagerObserver;
}

/** Counters of a {@linkcode DocManager}, as plain numbers. */
export interface DocManagerStats {
  /** Documents in memory now. */
  docsLoaded: number;
  /** Updates stored and acknowledged. */
  updatesApplied: number;
  /** Updates that changed nothing (returned seq `0`, not stored). */
  updatesSkipped: number;
  /** Store transactions (one per group commit). */
  commits: number;
  /** Sum of the commit durations, seconds (the samples go to `observer.commit`). */
  commitSeconds: number;
  compactions: number;
  /** Documents dropped after a store failure. */
  resets: number;
}

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

interface Pending {
  entry: Entry;
  update: Uint8Array;
  origin: UpdateOrigin;
  resolve(seq: number): void;
  reject(error: unknown): void;
}

/**
 * Documents in memory behind {@linkcode DocManagerApi}.
 *
 * - Every `open` is matched by one `release`, also after a reset: holds belong to the name,
 *   not to one in-memory copy, and the document is unloaded `unloadAfterMs` after the last.
 * - `apply` changes the Y.Doc at once, then commits every update applied before the next
 *   turn of the event loop in one `store.append`; callers are resolved and listeners told
 *   only after that commit, in seq order.
 * - Read `LoadedDoc.doc` each time: after an update that failed half-way the document is
 *   rebuilt from the store and the new Y.Doc replaces the old one.
 * - `close` commits what is pending and destroys the documents; it does not close the store.
 *
 * @example
 * ```ts
 * import * as Y from "yjs";
 * import { DocManager } from "./doc_manager.ts";
 * import { DocStore } from "./doc_store.ts";
 * const store = DocStore.open({ path: ":memory:" });
 * const docs = new DocManager({
 *   store,
 *   limits: { maxDocBytes: 10_485_760, maxUpdateBytes: 1_048_576, maxDocsLoaded: 10_000 },
 * });
 * docs.onUpdate(({ doc, seq }) => console.log(doc, seq)); // "notes/a" 1
 * const client = new Y.Doc();
 * client.getText("t").insert(0, "hello");
 * await docs.open("notes/a");
 * await docs.apply("notes/a", Y.encodeStateAsUpdate(client), "client-1");
 * docs.release("notes/a");
 * await docs.close();
 * store.close();
 * ```
 */
export class DocManager implements DocManagerApi {
  readonly #store: DocManagerStore;
  readonly #limits: SyncLimits;
  readonly #unloadAfterMs: number;
  readonly #compactAfterUpdates: number;
  readonly #log: Logger;
  readonly #timers: DocTimers;
  readonly #observer: DocManagerObserver;
  readonly #docs = new Map<string, Entry>();
  readonly #loading = new Map<string, Promise<Entry>>();
  readonly #holds = new Map<string, number>();
  readonly #updateListeners = new Set<(committed: CommittedUpdate) => void>();
  readonly #resetListeners = new Set<(doc: string) => void>();
  readonly #background = new Set<Promise<void>>();
  readonly #commits = new GroupCommit<Pending>((batch) => this.#commit(batch));
  #closing: Promise<void> | undefined;
  #stats = {
    updatesApplied: 0,
    updatesSkipped: 0,
    commits: 0,
    commitSeconds: 0,
    compactions: 0,
    resets: 0,
  };

  /** Creates the manager; nothing is loaded until `open` or `apply`. */
  constructor(options: DocManagerOptions) {
    this.#store = options.store;
    this.#limits = options.limits;
    this.#unloadAfterMs = options.unloadAfterMs ?? 30_000;
    this.#compactAfterUpdates = options.compactAfterUpdates ?? 500;
    this.#log = options.log ?? SILENT;
    this.#timers = options.timers ?? {
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (id) => clearTimeout(id as number),
    };
    this.#observer = options.observer ?? {};
  }

  /** The counters, as a fresh object. */
  get stats(): DocManagerStats {
    return { docsLoaded: this.#docs.size, ...this.#stats };
  }

  /** The names of the documents in memory. */
  docNames(): string[] {
    return [...this.#docs.keys()];
  }

  /** See {@linkcode DocManagerApi.open}. */
  async open(name: string): Promise<LoadedDoc> {
    this.#checkUsable();
    checkDocName(name);
    return await this.#acquire(name);
  }

  /** See {@linkcode DocManagerApi.release}. A release without a matching `open` is ignored. */
  release(name: string): void {
    const holds = this.#holds.get(name) ?? 0;
    if (holds === 0) {
      this.#log.warn("Document released more often than opened", { doc: name });
      return;
    }
    if (holds > 1) {
      this.#holds.set(name, holds - 1);
      return;
    }
    this.#holds.delete(name);
    const entry = this.#docs.get(name);
    if (entry && !this.#closing) this.#armUnload(entry);
  }

  /**
   * See {@linkcode DocManagerApi.apply}. A document that is not held is loaded (and held)
   * for the duration of the call.
   */
  async apply(name: string, update: Uint8Array, origin: UpdateOrigin): Promise<number> {
    this.#checkUsable();
    checkDocName(name);
    if (!(update instanceof Uint8Array)) {
      throw new SyncError("ERR_BAD_UPDATE", `Update to "${name}" is not a byte array`);
    }
    if (update.byteLength > this.#limits.maxUpdateBytes) {
      throw new SyncError(
        "ERR_UPDATE_TOO_LARGE",
        `Update of ${update.byteLength} bytes to "${name}" is too large: ` +
          `the limit is ${this.#limits.maxUpdateBytes} bytes`,
      );
    }
    const held = this.#acquire(name);
    const entry = held instanceof Promise ? await held : held;
    try {
      return await this.#applyHeld(entry, update, origin);
    } finally {
      this.release(name);
    }
  }

  /** See {@linkcode DocManagerApi.onUpdate}. */
  onUpdate(listener: (committed: CommittedUpdate) => void): () => void {
    this.#updateListeners.add(listener);
    return () => void this.#updateListeners.delete(listener);
  }

  /** See {@linkcode DocManagerApi.onReset}. */
  onReset(listener: (doc: string) => void): () => void {
    this.#resetListeners.add(listener);
    return () => void this.#resetListeners.delete(listener);
  }

  /**
   * Commits the pending updates, waits for running loads and compactions, stops the timers and
   * destroys every document. Later calls reject with `ERR_UNAVAILABLE`. The store stays open.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#commits.drain();
      await Promise.allSettled([...this.#loading.values(), ...this.#background]);
      for (const entry of this.#docs.values()) this.#unload(entry);
      this.#holds.clear();
    })();
    return this.#closing;
  }

  #checkUsable(): void {
    if (this.#closing) throw new SyncError("ERR_UNAVAILABLE", "The document manager is closed");
  }

  /** Holds `name` and resolves once it is loaded; synchronous when it already is. */
  #acquire(name: string): Entry | Promise<Entry> {
    this.#holds.set(name, (this.#holds.get(name) ?? 0) + 1);
    const entry = this.#docs.get(name);
    if (entry) {
      this.#timers.clearTimeout(entry.unloadTimer);
      entry.unloadTimer = undefined;
      return entry;
    }
    let loading = this.#loading.get(name);
    if (!loading) {
      if (this.#docs.size + this.#loading.size >= this.#limits.maxDocsLoaded && !this.#evict()) {
        this.release(name);
        throw new SyncError(
          "ERR_SYNC_LIMIT",
          `Cannot open document "${name}": limit of ${this.#limits.maxDocsLoaded} ` +
            `documents in memory reached`,
        );
      }
      loading = this.#load(name);
      this.#loading.set(name, loading);
      const done = () => void this.#loading.delete(name);
      loading.then(done, done);
    }
    return loading.catch((error) => {
      this.release(name);
      throw error;
    });
  }

  async #load(name: string): Promise<Entry> {
    let entry: Entry;
    try {
      entry = new Entry(name, await this.#store.load(name));
    } catch (error) {
      throw new SyncError("ERR_UNAVAILABLE", `Cannot load document "${name}": ${describe(error)}`, {
        cause: error,
      });
    }
    if (this.#closing) {
      this.#unload(entry);
      throw new SyncError("ERR_UNAVAILABLE", "The document manager is closed");
    }
    this.#docs.set(name, entry);
    this.#log.debug("Document loaded", { doc: name, bytes: entry.bytes });
    this.#maybeCompact(entry);
    return entry;
  }

  #applyHeld(entry: Entry, update: Uint8Array, origin: UpdateOrigin): Promise<number> {
    this.#checkUsable();
    const { name } = entry;
    const max = this.#limits.maxDocBytes;
    if (entry.bytes + entry.pendingBytes + update.byteLength > max) {
      throw new SyncError(
        "ERR_DOC_TOO_LARGE",
        `Document "${name}" is full: ${entry.bytes + entry.pendingBytes} of ${max} bytes ` +
          `stored, the update has ${update.byteLength}`,
      );
    }
    const { changed, error } = entry.apply(update, origin);
    if (error !== undefined) {
      if (changed) this.#rebuild(entry);
      throw new SyncError(
        "ERR_BAD_UPDATE",
        `Update to "${name}" is not a valid Yjs update: ${describe(error)}`,
        { cause: error },
      );
    }
    if (!changed) {
      this.#stats.updatesSkipped++;
      return Promise.resolve(0);
    }
    entry.uncommitted.push(update);
    entry.pendingBytes += update.byteLength;
    return new Promise((resolve, reject) => {
      this.#commits.add({ entry, update, origin, resolve, reject });
    });
  }

  async #commit(batch: Pending[]): Promise<void> {
    const started = performance.now();
    let seqs: number[];
    try {
      seqs = await this.#store.append(batch.map((p) => ({ doc: p.entry.name, data: p.update })));
      if (seqs.length !== batch.length) {
        throw new Error(`the store returned ${seqs.length} seqs for ${batch.length} updates`);
      }
    } catch (error) {
      this.#log.error("Cannot store document updates", {
        updates: batch.length,
        error: describe(error),
      });
      for (const p of batch) p.reject(unavailable(p.entry.name, error));
      for (const entry of new Set(batch.map((p) => p.entry))) this.#drop(entry, error);
      return;
    }
    const seconds = (performance.now() - started) / 1_000;
    this.#stats.commits++;
    this.#stats.commitSeconds += seconds;
    this.#stats.updatesApplied += batch.length;
    const committed: CommittedUpdate[] = [];
    batch.forEach(({ entry, update, origin, resolve }, i) => {
      entry.uncommitted.shift();
      entry.pendingBytes -= update.byteLength;
      entry.bytes += update.byteLength;
      entry.logBytes += update.byteLength;
      entry.updatesSinceSnapshot++;
      entry.lastSeq = seqs[i];
      resolve(seqs[i]);
      committed.push({ doc: entry.name, update, origin, seq: seqs[i] });
    });
    for (const c of committed) this.#emit(this.#updateListeners, c);
    try {
      this.#observer.commit?.(seconds, batch.length);
    } catch (error) {
      this.#log.error("The commit observer threw", { error: describe(error) });
    }
    for (const entry of new Set(batch.map((p) => p.entry))) this.#maybeCompact(entry);
  }

  /** Rebuilds a document from the store after a half-applied update, or drops it. */
  #rebuild(entry: Entry): void {
    try {
      const stored = this.#store.load(entry.name);
      if (stored instanceof Promise) {
        stored.catch(() => {});
        throw new Error("the store loads asynchronously");
      }
      entry.rebuild(stored);
    } catch (error) {
      this.#drop(entry, error);
    }
  }

  /** Forgets a document whose memory may hold what the store does not; holds stay. */
  #drop(entry: Entry, cause: unknown): void {
    if (entry.dropped) return;
    entry.dropped = true;
    if (this.#docs.get(entry.name) === entry) this.#docs.delete(entry.name);
    this.#timers.clearTimeout(entry.unloadTimer);
    for (const p of this.#commits.take((p) => p.entry === entry)) {
      p.reject(unavailable(entry.name, cause));
    }
    entry.uncommitted = [];
    entry.pendingBytes = 0;
    entry.awareness.destroy();
    this.#stats.resets++;
    this.#log.warn("Document dropped from memory: clients must resync", {
      doc: entry.name,
      error: describe(cause),
    });
    this.#emit(this.#resetListeners, entry.name);
  }

  #maybeCompact(entry: Entry): void {
    const due = entry.updatesSinceSnapshot > this.#compactAfterUpdates ||
      (entry.updatesSinceSnapshot > 1 && entry.logBytes > this.#limits.maxDocBytes / 4);
    if (!due || entry.compacting || this.#closing) return;
    entry.compacting = true;
    const task = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#compact(entry))
      .finally(() => {
        entry.compacting = false;
        this.#background.delete(task);
      });
    this.#background.add(task);
  }

  async #compact(entry: Entry): Promise<void> {
    if (entry.dropped || this.#closing) return;
    // The snapshot may hold queued updates too: harmless, they are idempotent, and waiting
    // for a moment without any would starve compaction under steady load.
    const snapshot = Y.encodeStateAsUpdate(entry.doc);
    const { lastSeq, updatesSinceSnapshot, logBytes } = entry;
    try {
      await this.#store.compact(entry.name, snapshot, lastSeq);
    } catch (error) {
      this.#log.warn("Cannot compact document", { doc: entry.name, error: describe(error) });
      return;
    }
    entry.updatesSinceSnapshot -= updatesSinceSnapshot;
    entry.logBytes -= logBytes;
    entry.bytes = snapshot.byteLength + entry.logBytes;
    this.#stats.compactions++;
    this.#log.debug("Document compacted", { doc: entry.name, bytes: entry.bytes, upto: lastSeq });
  }

  #armUnload(entry: Entry): void {
    this.#timers.clearTimeout(entry.unloadTimer);
    entry.unloadTimer = this.#timers.setTimeout(() => {
      entry.unloadTimer = undefined;
      if (this.#holds.has(entry.name) || this.#docs.get(entry.name) !== entry) return;
      if (entry.uncommitted.length > 0 || entry.compacting) return this.#armUnload(entry);
      this.#unload(entry);
    }, this.#unloadAfterMs);
  }

  /** Unloads the oldest idle document; false when every one is held or busy. */
  #evict(): boolean {
    for (const entry of this.#docs.values()) {
      if (this.#holds.has(entry.name) || entry.uncommitted.length > 0 || entry.compacting) continue;
      this.#unload(entry);
      return true;
    }
    return false;
  }

  #unload(entry: Entry): void {
    this.#timers.clearTimeout(entry.unloadTimer);
    this.#docs.delete(entry.name);
    entry.awareness.destroy();
    entry.doc.destroy();
    this.#log.debug("Document unloaded", { doc: entry.name });
  }

  #emit<T>(listeners: Set<(value: T) => void>, value: T): void {
    for (const listener of listeners) {
      try {
        listener(value);
      } catch (error) {
        this.#log.error("A document listener threw", { error: describe(error) });
      }
    }
  }
}

function unavailable(doc: string, cause: unknown): SyncError {
  return new SyncError(
    "ERR_UNAVAILABLE",
    `Cannot store an update to "${doc}": ${describe(cause)}: nothing was acknowledged, retry later`,
    { cause },
  );
}
