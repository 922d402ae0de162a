/**
 * The shapes the document sync modules share: what a loaded document offers
 * the endpoints (y-websocket, Switchyard sessions, HTTP), and who may do what.
 *
 * @module
 */

import type * as Y from "yjs";
import type { Awareness } from "y-protocols/awareness";

/** What a client may do with a document. */
export type DocAccess = "rw" | "r" | "none";

/** Limits of the sync service. */
export interface SyncLimits {
  /** Largest stored size of one document (snapshot + update log), bytes. */
  maxDocBytes: number;
  /** Largest single update, bytes. */
  maxUpdateBytes: number;
  /** Most documents in memory at once. */
  maxDocsLoaded: number;
}

/** Who or what sent an update; listeners use it to skip echoing to the sender. */
export type UpdateOrigin = unknown;

/** An update that is durably stored and applied. */
export interface CommittedUpdate {
  doc: string;
  update: Uint8Array;
  origin: UpdateOrigin;
  /** Server sequence number of the update (global, only grows). */
  seq: number;
}

/** A document in memory. Hold it with {@linkcode DocManagerApi.open}, let go with `release`. */
export interface LoadedDoc {
  readonly name: string;
  /** The document. Change it only through {@linkcode DocManagerApi.apply}. */
  readonly doc: Y.Doc;
  /** Awareness states of the document's clients (not persisted). */
  readonly awareness: Awareness;
  /** Stored bytes (snapshot + update log). */
  readonly bytes: number;
}

/** What the endpoints need from the document manager. */
export interface DocManagerApi {
  /**
   * Load (or share the already loaded) document and hold it until `release`. Resolves only once
   * the stored state is applied. Rejects with `SyncError` `ERR_SYNC_LIMIT` past `maxDocsLoaded`,
   * `ERR_BAD_DOC_NAME` for an empty, over-long (> 512 bytes) or control-character name.
   */
  open(name: string): Promise<LoadedDoc>;
  /** Let go of a document held with `open`; it is unloaded after the idle delay. */
  release(name: string): void;
  /**
   * Apply `update` to the (held) document, durably, then tell the listeners. Resolves with the
   * server seq (`0` when the update changed nothing and was not stored). Rejects with `SyncError`
   * `ERR_UPDATE_TOO_LARGE`, `ERR_DOC_TOO_LARGE`, `ERR_BAD_UPDATE` (not a Yjs update) or
   * `ERR_UNAVAILABLE` (the store failed; nothing was acknowledged).
   */
  apply(name: string, update: Uint8Array, origin: UpdateOrigin): Promise<number>;
  /** Called after each committed update, in commit order. Returns an unsubscribe function. */
  onUpdate(listener: (committed: CommittedUpdate) => void): () => void;
  /**
   * Called when a document's in-memory state was dropped (a store failure): connected clients
   * must be closed so they resync. Returns an unsubscribe function.
   */
  onReset(listener: (doc: string) => void): () => void;
}
