/**
 * Yjs documents over Switchyard sessions (any transport): RPCs to open a
 * document and send updates, and a channel per document that carries every
 * committed update in order, with history, so a client that drops or switches
 * transport recovers what it missed.
 *
 * - `sync.open {doc, sv?}` → `{update, sv, access, position}`: the state the
 *   client lacks (diff against its state vector `sv`, base64) and the top of
 *   `sync:<doc>` read *before* the diff was made; the client subscribes with
 *   `since: position`. An update can then arrive twice (in the diff and on the
 *   channel), which Yjs ignores; none can be missed.
 * - `sync.update {doc, update}` → `{seq}` once the update is durably stored;
 *   it is then published on `sync:<doc>` as `{u, s}` (update, sender session).
 *
 * @module
 */

import * as Y from "yjs";
import { applyAwarenessUpdate, encodeAwarenessUpdate } from "y-protocols/awareness";
import {
  type Hub,
  type Logger,
  type RpcContext,
  type RpcHandler,
  SwitchyardError,
} from "../../core/mod.ts";
import { docChannel } from "./doc_channel.ts";
import { accessOf, AWARENESS_CHANNEL_PREFIX, SYNC_CHANNEL_PREFIX } from "./sync_namespaces.ts";
import { SyncError } from "./sync_error.ts";
import type { CommittedUpdate, DocAccess, DocManagerApi } from "./types.ts";

/** Options of {@linkcode attachSessionSync}. */
export interface SessionSyncOptions {
  docs: DocManagerApi;
  anonymous: DocAccess;
  log: Logger;
  /** Where the RPC handlers go. Default: `hub.rpc`. */
  register?: (method: string, handler: RpcHandler) => void;
}

/**
 * Register the `sync.*` RPCs (on `hub` unless `register` says otherwise) and publish committed
 * updates on their channels.
 * Returns a function that stops publishing.
 */
export function attachSessionSync(hub: Hub, options: SessionSyncOptions): () => void {
  const { docs, anonymous } = options;
  const register = options.register ?? ((method, handler) => hub.rpc(method, handler));
  const access = (doc: string, ctx: RpcContext) => {
    const granted = accessOf(ctx.user, ctx.claims, doc, anonymous);
    if (granted === "none") {
      throw new SwitchyardError("ERR_FORBIDDEN", `No access to document "${doc}"`);
    }
    return granted;
  };

  register("sync.open", async (data, ctx) => {
    const { doc, sv } = parseArgs(data, "sv");
    const granted = access(doc, ctx);
    const channel = channelOf(SYNC_CHANNEL_PREFIX, doc);
    const loaded = await withSyncErrors(() => docs.open(doc));
    try {
      const { top } = await hub.history(channel, { limit: 0 });
      const diff = Y.encodeStateAsUpdate(loaded.doc, sv);
      return {
        update: diff.toBase64(),
        sv: Y.encodeStateVector(loaded.doc).toBase64(),
        access: granted,
        position: top,
      };
    } catch (err) {
      throw new SwitchyardError("ERR_BAD_REQUEST", `Bad state vector: ${(err as Error).message}`);
    } finally {
      docs.release(doc);
    }
  });

  register("sync.update", async (data, ctx) => {
    const { doc, update } = parseArgs(data, "update");
    if (access(doc, ctx) !== "rw") {
      throw new SwitchyardError("ERR_FORBIDDEN", `Document "${doc}" is read-only for you`);
    }
    await withSyncErrors(() => docs.open(doc));
    try {
      const seq = await withSyncErrors(() =>
        docs.apply(doc, update ?? new Uint8Array(), { session: ctx.session })
      );
      return { seq };
    } finally {
      docs.release(doc);
    }
  });

  // One chain, so publications keep commit order even if a publish is slow.
  let chain = Promise.resolve();
  const publish = (c: CommittedUpdate) => {
    const session = (c.origin as { session?: unknown } | null)?.session;
    const channel = docChannel(SYNC_CHANNEL_PREFIX, c.doc);
    if (channel === null) return; // a name too long for a channel: no session can follow it
    chain = chain.then(async () => {
      try {
        await hub.publish(channel, {
          u: c.update.toBase64(),
          s: typeof session === "string" ? session : null,
        });
      } catch (err) {
        // Logged, and the chain goes on: one failed publish must not stop the later ones.
        options.log.error("Cannot publish a document update", { doc: c.doc, error: String(err) });
      }
    });
  };
  const stopUpdates = docs.onUpdate(publish);

  // Awareness of Switchyard clients: published on awareness:<doc> for the others, and applied to
  // the document's server-side awareness, which y-websocket clients see.
  register("sync.awareness", async (data, ctx) => {
    const { doc, update } = parseArgs(data, "update");
    access(doc, ctx);
    const loaded = await withSyncErrors(() => docs.open(doc));
    let states: string | null = null;
    try {
      applyAwarenessUpdate(loaded.awareness, update!, { session: ctx.session });
      // A newcomer is told everyone's state at once: y-websocket clients only send theirs when
      // it changes or every 15 s.
      if ((data as { welcome?: unknown }).welcome === true) {
        const ids = [...loaded.awareness.getStates().keys()]
          .filter((id) => id !== loaded.awareness.clientID);
        states = encodeAwarenessUpdate(loaded.awareness, ids).toBase64();
      }
    } catch (err) {
      throw new SwitchyardError(
        "ERR_BAD_REQUEST",
        `Bad awareness update: ${(err as Error).message}`,
      );
    } finally {
      docs.release(doc);
    }
    await hub.publish(channelOf(AWARENESS_CHANNEL_PREFIX, doc), { a: update!.toBase64() }, {
      info: { user: ctx.user, client: ctx.session },
    });
    return { states };
  });
  return stopUpdates;
}

/**
 * Publish awareness changes made by y-websocket clients on `awareness:<doc>`, so Switchyard
 * clients see them (a socket's states are removed the same way when it closes).
 */
export function publishForeignAwareness(hub: Hub, log: Logger) {
  return (doc: string, update: Uint8Array): void => {
    const channel = docChannel(AWARENESS_CHANNEL_PREFIX, doc);
    if (channel === null) return;
    hub.publish(channel, { a: update.toBase64() }, {
      info: { user: "", client: Y_WEBSOCKET_CLIENT },
    }).catch((err) => log.error("Cannot publish awareness", { doc, error: String(err) }));
  };
}

/** The `client` of awareness publications that come from y-websocket clients. */
export const Y_WEBSOCKET_CLIENT = "y-websocket";

/** The channel of `doc`, or `ERR_BAD_REQUEST` when the name is too long for one. */
function channelOf(prefix: string, doc: string): string {
  const channel = docChannel(prefix, doc);
  if (channel === null) {
    throw new SwitchyardError(
      "ERR_BAD_REQUEST",
      `Document name too long for a channel (${doc.length} characters): use a name under 200 ` +
        "characters, or the y-websocket or HTTP API",
    );
  }
  return channel;
}

function parseArgs(
  data: unknown,
  bytesKey: "sv" | "update",
): { doc: string; sv?: Uint8Array; update?: Uint8Array } {
  const args = data as Record<string, unknown> | null;
  if (typeof args?.doc !== "string" || args.doc === "") {
    throw new SwitchyardError("ERR_BAD_REQUEST", 'Pass {"doc": "<document name>", …}');
  }
  const raw = args[bytesKey];
  if (raw === undefined && bytesKey === "sv") return { doc: args.doc };
  if (typeof raw !== "string") {
    throw new SwitchyardError("ERR_BAD_REQUEST", `"${bytesKey}" must be a base64 string`);
  }
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(raw);
  } catch {
    throw new SwitchyardError("ERR_BAD_REQUEST", `"${bytesKey}" is not valid base64`);
  }
  return { doc: args.doc, [bytesKey]: bytes };
}

/**
 * Run `fn`, turning a `SyncError` into the protocol error a client understands; the sync code
 * leads the message (`ERR_DOC_TOO_LARGE: …`). Size errors are `ERR_BAD_REQUEST`, not
 * `ERR_MESSAGE_TOO_LARGE`, which would close the session.
 */
async function withSyncErrors<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof SyncError)) throw err;
    const code = err.code === "ERR_UNAVAILABLE" || err.code === "ERR_SYNC_LIMIT"
      ? "ERR_UNAVAILABLE"
      : err.code === "ERR_FORBIDDEN" || err.code === "ERR_READ_ONLY"
      ? "ERR_FORBIDDEN"
      : "ERR_BAD_REQUEST";
    throw new SwitchyardError(code, `${err.code}: ${err.message}`);
  }
}
