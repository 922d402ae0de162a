/**
 * One document in memory for `DocManager`: its Y.Doc and Awareness, the stored
 * sizes, and how an update is applied to it with change detection. Private to this folder.
 *
 * @module
 */
import * as Y from "yjs";
import { Awareness } from "y-protocols/awareness";
import type { StoredDoc } from "./doc_store.ts";
import { SyncError } from "./sync_error.ts";
import type { LoadedDoc, UpdateOrigin } from "./types.ts";

const MAX_NAME_BYTES = 512;

/** What applying one update did: `error` when Yjs threw, `changed` when the doc moved. */
export interface ApplyOutcome {
  changed: boolean;
  error?: unknown;
}

/** A loaded document and the manager's bookkeeping about it. */
export class DocEntry implements LoadedDoc {
  readonly name: string;
  doc: Y.Doc;
  readonly awareness: Awareness;
  /** Stored bytes (snapshot + log). */
  bytes: number;
  /** Stored bytes of the log after the snapshot. */
  logBytes: number;
  updatesSinceSnapshot: number;
  /** Seq of the last committed update. */
  lastSeq: number;
  /** Applied to `doc`, not yet committed (queued or in flight), in queue order. */
  uncommitted: Uint8Array[] = [];
  pendingBytes = 0;
  compacting = false;
  dropped = false;
  unloadTimer: unknown = undefined;

  /** Builds the document from its stored state; throws when a stored update is corrupt. */
  constructor(name: string, stored: StoredDoc) {
    this.name = name;
    this.doc = buildDoc(stored);
    this.awareness = new Awareness(this.doc);
    this.awareness.setLocalState(null);
    this.bytes = stored.bytes;
    this.logBytes = stored.updates.reduce((sum, u) => sum + u.data.byteLength, 0);
    this.updatesSinceSnapshot = stored.updates.length;
    this.lastSeq = stored.updates.at(-1)?.seq ?? stored.snapshotSeq;
  }

  /**
   * Applies `update`. It changed the document when it moved the state vector, deleted
   * something, or added structs that wait for a missing dependency (those change no state
   * yet, but must be stored). Yjs integrates the structs before it reads the delete set, so
   * an update that throws may have changed the document half-way.
   */
  apply(update: Uint8Array, origin: UpdateOrigin): ApplyOutcome {
    const { doc } = this;
    let changed = false;
    const watch = (tr: Y.Transaction) => {
      changed ||= tr.deleteSet.clients.size > 0 ||
        [...tr.afterState].some(([client, clock]) => tr.beforeState.get(client) !== clock);
    };
    const pendingBefore = pendingOf(doc);
    doc.on("afterTransaction", watch);
    try {
      Y.applyUpdate(doc, update, origin);
    } catch (error) {
      return { changed: changed || !sameBytes(pendingBefore, pendingOf(doc)), error };
    } finally {
      doc.off("afterTransaction", watch);
    }
    return { changed: changed || !sameBytes(pendingBefore, pendingOf(doc)) };
  }

  /** Replaces the Y.Doc by `stored` plus the uncommitted updates; throws if that fails. */
  rebuild(stored: StoredDoc): void {
    const doc = buildDoc(stored);
    for (const update of this.uncommitted) Y.applyUpdate(doc, update);
    this.doc = doc;
    this.awareness.doc = doc;
  }
}

/** Throws `ERR_BAD_DOC_NAME` for an empty, over-long, control-character or ill-formed name. */
export function checkDocName(name: string): void {
  let problem: string | undefined;
  if (typeof name !== "string" || name === "") problem = "the name is empty";
  else if (!name.isWellFormed()) problem = "the name has a lone surrogate";
  else if (/\p{Cc}/u.test(name)) problem = "the name has a control character";
  else if (
    name.length * 3 > MAX_NAME_BYTES && new TextEncoder().encode(name).length > MAX_NAME_BYTES
  ) {
    problem = `the name is longer than ${MAX_NAME_BYTES} bytes`;
  }
  if (problem) {
    throw new SyncError(
      "ERR_BAD_DOC_NAME",
      `Bad document name ${JSON.stringify(String(name)).slice(0, 80)}: ${problem}`,
    );
  }
}

/** The message of any thrown value. */
export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function buildDoc(stored: StoredDoc): Y.Doc {
  const doc = new Y.Doc();
  try {
    doc.transact(() => {
      if (stored.snapshot) Y.applyUpdate(doc, stored.snapshot);
      for (const { seq, data } of stored.updates) {
        try {
          Y.applyUpdate(doc, data);
        } catch (error) {
          throw new Error(`stored update ${seq} is corrupt: ${describe(error)}`, { cause: error });
        }
      }
    });
  } catch (error) {
    doc.destroy();
    throw error;
  }
  return doc;
}

function pendingOf(doc: Y.Doc): Uint8Array[] {
  const { pendingStructs, pendingDs } = doc.store;
  return [pendingStructs?.update ?? new Uint8Array(), pendingDs ?? new Uint8Array()];
}

function sameBytes(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.every((x, i) =>
    x === b[i] || (x.byteLength === b[i].byteLength && x.every((v, j) => v === b[i][j]))
  );
}
