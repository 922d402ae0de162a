/**
 * Keeps a Yjs document in sync with Switchyard over the client's session, on
 * whatever transport it is using (WebTransport, WebSocket or SSE).
 *
 * The provider opens the document with the `sync.open` RPC (the server's
 * state the document lacks), subscribes to `sync:<name>` from the position the
 * server reported (so no update is missed, and an update seen twice is a no-op
 * in Yjs), and sends local changes with `sync.update`, one request at a time,
 * merging what piles up meanwhile. The client's outbox resends a request after
 * a transport switch, and the server applies it once. When the channel could
 * not be recovered (`recovered: false`), the provider opens the document again.
 *
 * `yjs` is imported as a bare specifier so that an application bundles one
 * copy of Yjs for itself and the provider (two copies break Yjs).
 *
 * @module
 */

import * as Y from "yjs";
import {
  applyAwarenessUpdate,
  type Awareness,
  encodeAwarenessUpdate,
  removeAwarenessStates,
} from "y-protocols/awareness";
import type { SwitchyardClient } from "./switchyard_client.ts";
import type { Subscription } from "./subscription.ts";
import type { StreamPosition } from "../src/core/protocol.ts";
import { docChannel } from "../src/services/sync/doc_channel.ts";

/**
 * Most bytes of queued updates merged into one request: with base64 (4/3) it stays well under
 * the default 64 KiB message limit.
 */
const MERGE_BYTES = 16_384;

/** Wait before resending an update the server could not store. */
const RETRY_MS = 1000;

/** Options of {@linkcode SwitchyardYjsProvider}. */
export interface YjsProviderOptions {
  /**
   * Share this awareness (cursors, names) with the document's other clients on the
   * `awareness:<name>` channel. Each client's states are removed when it leaves.
   */
  awareness?: Awareness;
}

/** What the client may do with a document. */
export type DocAccess = "rw" | "r";

interface OpenReply {
  update: string;
  sv: string;
  access: DocAccess;
  position: StreamPosition | null;
}

/**
 * A Yjs document kept in sync through a {@linkcode SwitchyardClient}.
 *
 * @example
 * ```ts ignore
 * import * as Y from "yjs";
 * import { SwitchyardClient } from "./mod.ts";
 * import { SwitchyardYjsProvider } from "./yjs_provider.ts";
 * const client = new SwitchyardClient("http://localhost:4433");
 * const doc = new Y.Doc();
 * const provider = new SwitchyardYjsProvider(client, "notes/alice", doc);
 * await provider.synced;
 * doc.getText("body").insert(0, "hello");
 * ```
 */
export class SwitchyardYjsProvider {
  readonly name: string;
  readonly doc: Y.Doc;
  #client: SwitchyardClient;
  #subscription: Subscription | undefined;
  #access: DocAccess | undefined;
  #pending: Uint8Array[] = [];
  #sending: Promise<void> | undefined;
  #synced: Promise<void>;
  #destroyed = false;
  #onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === this || this.#destroyed) return;
    this.#pending.push(update);
    this.#flush();
  };
  #errorListeners = new Set<(err: Error) => void>();
  readonly awareness: Awareness | undefined;
  #awarenessSub: Subscription | undefined;
  /** Awareness client ids each other session has set, to remove when it leaves. */
  #peers = new Map<string, Set<number>>();
  #applyingFrom: string | undefined;
  #awarenessSending = false;
  #awarenessDirty = false;
  #welcome = false;
  #onAwareness = (
    change: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ) => {
    if (origin === this) {
      const from = this.#applyingFrom;
      if (from === undefined) return;
      const ids = this.#peers.get(from) ?? new Set();
      for (const id of [...change.added, ...change.updated]) ids.add(id);
      for (const id of change.removed) ids.delete(id);
      this.#peers.set(from, ids);
      return;
    }
    const own = this.awareness!.clientID;
    if ([...change.added, ...change.updated, ...change.removed].includes(own)) {
      this.#publishAwareness();
    }
  };

  constructor(
    client: SwitchyardClient,
    name: string,
    doc: Y.Doc,
    options: YjsProviderOptions = {},
  ) {
    this.#client = client;
    this.name = name;
    this.doc = doc;
    this.awareness = options.awareness;
    doc.on("update", this.#onUpdate);
    if (this.awareness) this.#watchAwareness(this.awareness);
    this.#synced = this.#open();
    this.#synced.catch((err) => this.#report(err));
  }

  /** Resolves once the server's state is applied and local changes made before are sent. */
  get synced(): Promise<void> {
    return this.#synced;
  }

  /** `"rw"` or `"r"` once opened; a read-only document's local changes are never sent. */
  get access(): DocAccess | undefined {
    return this.#access;
  }

  /** Resolves once every local change so far is durably stored on the server. */
  async flushed(): Promise<void> {
    await this.#synced;
    while (this.#sending) await this.#sending;
  }

  /** Called with errors of background sends and re-opens. Returns a remover. */
  onError(listener: (err: Error) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /** Stop syncing; the document is left as it is, and this client's awareness is withdrawn. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    this.doc.off("update", this.#onUpdate);
    if (this.awareness) {
      this.awareness.off("update", this.#onAwareness);
      const others = [...this.#peers.values()].flatMap((ids) => [...ids]);
      removeAwarenessStates(this.awareness, others, this);
      await this.#awarenessSub?.unsubscribe().catch(() => {});
    }
    await this.#subscription?.unsubscribe().catch(() => {});
  }

  #watchAwareness(awareness: Awareness): void {
    awareness.on("update", this.#onAwareness);
    this.#awarenessSub = this.#client.subscribe(docChannel("awareness:", this.name) ?? "", {
      onPublication: (pub) => {
        const from = pub.info?.client;
        const data = (pub.data as { a?: unknown })?.a;
        if (from === undefined || from === this.#client.session || typeof data !== "string") return;
        this.#applyingFrom = from;
        try {
          applyAwarenessUpdate(awareness, Uint8Array.fromBase64(data), this);
        } catch (err) {
          this.#report(err);
        } finally {
          this.#applyingFrom = undefined;
        }
      },
      // Somebody new: tell them who we are (they start with nobody's state).
      onJoin: (info) => {
        if (info.client !== this.#client.session) this.#publishAwareness();
      },
      onLeave: (info) => {
        const ids = this.#peers.get(info.client);
        this.#peers.delete(info.client);
        if (ids && ids.size > 0) removeAwarenessStates(awareness, [...ids], this);
      },
    });
    this.#awarenessSub.ready.then(() => this.#publishAwareness(true), (err) => this.#report(err));
  }

  /**
   * Send this client's awareness state; changes made meanwhile go out in the next one. With
   * `welcome`, the server answers everyone's state (for a newcomer: y-websocket clients only
   * send theirs when it changes, or every 15 s).
   */
  #publishAwareness(welcome = false): void {
    const awareness = this.awareness;
    if (!awareness || this.#destroyed) return;
    this.#welcome ||= welcome;
    if (this.#awarenessSending) {
      this.#awarenessDirty = true;
      return;
    }
    this.#awarenessSending = true;
    const asked = this.#welcome;
    this.#welcome = false;
    const update = encodeAwarenessUpdate(awareness, [awareness.clientID]);
    this.#client.rpc("sync.awareness", {
      doc: this.name,
      update: update.toBase64(),
      welcome: asked,
    })
      .then((reply) => {
        // Everyone's state: kept until updated, removed, or 30 s without renewal.
        const states = (reply as { states?: unknown } | null)?.states;
        if (typeof states !== "string" || this.#destroyed) return;
        const own = awareness.getLocalState();
        applyAwarenessUpdate(awareness, Uint8Array.fromBase64(states), this);
        if (awareness.getLocalState() !== own) awareness.setLocalState(own);
      })
      .catch((err) => this.#report(err))
      .finally(() => {
        this.#awarenessSending = false;
        if (this.#awarenessDirty || this.#welcome) {
          this.#awarenessDirty = false;
          this.#publishAwareness();
        }
      });
  }

  async #open(): Promise<void> {
    const reply = await this.#client.rpc("sync.open", {
      doc: this.name,
      sv: Y.encodeStateVector(this.doc).toBase64(),
    }) as OpenReply;
    if (this.#destroyed) return;
    this.#access = reply.access;
    Y.applyUpdate(this.doc, Uint8Array.fromBase64(reply.update), this);
    if (!this.#subscription) {
      this.#subscription = this.#client.subscribe(docChannel("sync:", this.name) ?? "", {
        since: reply.position ?? undefined,
        onPublication: (pub) => {
          const data = pub.data as { u?: unknown; s?: unknown };
          if (typeof data?.u !== "string" || data.s === this.#client.session) return;
          Y.applyUpdate(this.doc, Uint8Array.fromBase64(data.u), this);
        },
        onRecovery: ({ recovered }) => {
          if (!recovered && !this.#destroyed) {
            this.#synced = this.#open();
            this.#synced.catch((err) => this.#report(err));
          }
        },
      });
      await this.#subscription.ready;
    }
    // What this document has that the server lacks (edits made before opening, or offline).
    const missing = Y.encodeStateAsUpdate(this.doc, Uint8Array.fromBase64(reply.sv));
    if (missing.length > 2) this.#pending.unshift(missing);
    this.#flush();
  }

  #flush(): void {
    if (this.#sending || this.#access === undefined || this.#pending.length === 0) return;
    if (this.#access === "r") {
      this.#pending = [];
      return;
    }
    // Merge what piled up, but only up to MERGE_BYTES: a merge of many small edits must still
    // fit the server's message limit (an edit that alone is too large is refused and reported).
    let take = 1;
    let bytes = this.#pending[0].length;
    while (take < this.#pending.length && bytes + this.#pending[take].length <= MERGE_BYTES) {
      bytes += this.#pending[take++].length;
    }
    const batch = this.#pending.splice(0, take);
    const update = batch.length === 1 ? batch[0] : Y.mergeUpdates(batch);
    let retry = false;
    this.#sending = this.#client.rpc("sync.update", { doc: this.name, update: update.toBase64() })
      .then(() => {}, (err) => {
        // The store or the document limit may recover: keep the change and try again.
        retry = (err as { code?: string }).code === "ERR_UNAVAILABLE";
        if (retry) this.#pending.unshift(update);
        this.#report(err);
      })
      .finally(() => {
        this.#sending = undefined;
        if (this.#destroyed) return;
        if (!retry) return this.#flush();
        // Still "sending" while the retry waits, so flushed() does not resolve before it lands.
        this.#sending = new Promise<void>((resolve) => setTimeout(resolve, RETRY_MS)).then(() => {
          this.#sending = undefined;
          if (!this.#destroyed) this.#flush();
        });
      });
  }

  #report(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.#errorListeners.size === 0) console.error("Switchyard Yjs sync:", error);
    for (const listener of this.#errorListeners) listener(error);
  }
}
