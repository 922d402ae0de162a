/**
 * `GET /yjs/{room}`: the y-websocket protocol, for the stock `y-websocket@3`
 * client and `yjs@13`. Writes go through the document manager, so they are
 * durable before anyone else sees them and read-only access is enforced.
 *
 * @module
 */

import * as awarenessProtocol from "y-protocols/awareness";
import type { Logger } from "../../core/mod.ts";
import { truncateUtf8 } from "../../transports/mod.ts";
import { docAccess } from "./access.ts";
import { SyncError } from "./sync_error.ts";
import type { CommittedUpdate, DocAccess, DocManagerApi, LoadedDoc } from "./types.ts";
import {
  changesNothing,
  decodeYMessage,
  encodeAwarenessMessage,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  type YMessage,
} from "./_y_messages.ts";
import { Connection, Room, watchAwareness } from "./_y_room.ts";

/**
 * Close codes of the endpoint. The stock client reconnects after every code
 * except 4400–4499 (permanent: it stops and emits `closed`).
 *
 * | code | when                                                              | client   |
 * |------|-------------------------------------------------------------------|----------|
 * | 1001 | the server is shutting down                                       | retries  |
 * | 1003 | a malformed frame or Yjs update (nothing of it applied)           | retries  |
 * | 1009 | a frame over `max_update_bytes` (+ header), or an update the manager refuses as too large | retries |
 * | 1011 | an unexpected server error                                        | retries  |
 * | 1013 | too many frames sent before the document was loaded               | retries  |
 * | 4400 | the room is not a valid document name                             | stops    |
 * | 4401 | the token is missing, bad or expired                              | stops    |
 * | 4403 | the token grants no access to this document                       | stops    |
 * | 4413 | the document is over `max_doc_bytes`                              | stops    |
 * | 4500 | the document was reloaded after a storage failure: resync         | retries  |
 * | 4503 | the server is over `max_docs_loaded`, or storage is unavailable   | retries  |
 */
export const Y_CLOSE = {
  goingAway: 1001,
  unsupportedData: 1003,
  tooBig: 1009,
  internalError: 1011,
  tryAgainLater: 1013,
  badRoom: 4400,
  unauthorized: 4401,
  forbidden: 4403,
  docTooLarge: 4413,
  resync: 4500,
  unavailable: 4503,
} as const;

/** Reason of the one auth message a read-only client gets for its first write. */
export const READ_ONLY_REASON = "read-only document";

/** Bytes a frame may carry besides the update: message type, sync step, length varuint. */
const FRAME_HEADER_BYTES = 16;
/** Frames queued per connection while its document loads (the stock client sends ~2). */
const MAX_QUEUED_FRAMES = 1024;
/** Close reasons are at most 123 bytes. */
const MAX_REASON_BYTES = 120;

/** Options of {@linkcode createYWebsocketHandler}. */
export interface YWebsocketOptions {
  /** Where documents live. */
  docs: DocManagerApi;
  /**
   * Check the `?token=` query parameter (`undefined` when absent). Resolves with the token's
   * claims (`undefined` claims = anonymous); rejects when the token is bad. A rejection with
   * `code: "ERR_UNAVAILABLE"` (a key server is down) closes with 4503, any other with 4401.
   */
  authenticate(token: string | undefined): Promise<{ claims?: Readonly<Record<string, unknown>> }>;
  /** Access of anonymous clients (`sync.anonymous`). */
  anonymous: DocAccess;
  /** Largest update accepted (`sync.max_update_bytes`). */
  maxUpdateBytes: number;
  /**
   * Told each awareness change that y-websocket clients made (set, update, or removal when a
   * socket closes), as a y-protocols awareness update, so other clients can be told too.
   */
  onAwareness?(doc: string, update: Uint8Array): void;
  log: Logger;
}

/** The endpoint: call it with an upgrade request and its room; `close()` on shutdown. */
export interface YWebsocketHandler {
  /** Upgrade `req` (426 if it is not a WebSocket upgrade) and serve document `room`. */
  (req: Request, room: string): Response;
  /** Close every socket (1001) and stop listening to the document manager. */
  close(): void;
}

/**
 * The document name in a `/yjs/{room}` path (rest of the path, percent-decoded,
 * may contain `/`), or `null` when `pathname` is not under `/yjs/` or cannot be decoded.
 *
 * @example
 * ```ts
 * import { yjsRoom } from "./y_websocket.ts";
 * yjsRoom("/yjs/team/plan%20b"); // "team/plan b"
 * ```
 */
export function yjsRoom(pathname: string): string | null {
  if (!pathname.startsWith("/yjs/")) return null;
  try {
    return decodeURIComponent(pathname.slice("/yjs/".length));
  } catch {
    return null;
  }
}

/**
 * Create the y-websocket endpoint.
 *
 * Per connection: the token is checked, then the document opened (frames that
 * arrive meanwhile are queued and handled in order); the server sends sync
 * step 1 and the awareness states, answers step 1 with step 2, and hands step 2
 * and update payloads to `docs.apply` (a read-only client's writes are dropped
 * and it gets one `permission-denied` auth message). Committed updates are sent
 * to every other connection of the room; awareness updates to all of them,
 * the sender included. The endpoint holds (`open`) a document once per room
 * and releases it when the room's last socket closes, or when the manager
 * resets it: then the room's sockets are closed with 4500 so clients resync
 * (their next connection opens the reloaded document).
 *
 * @example
 * ```ts ignore
 * import { createYWebsocketHandler, yjsRoom } from "./y_websocket.ts";
 * declare const options: import("./y_websocket.ts").YWebsocketOptions;
 * const yjs = createYWebsocketHandler(options);
 * Deno.serve((req) => {
 *   const room = yjsRoom(new URL(req.url).pathname);
 *   return room === null ? new Response("Not found", { status: 404 }) : yjs(req, room);
 * });
 * ```
 */
export function createYWebsocketHandler(options: YWebsocketOptions): YWebsocketHandler {
  const endpoint = new YWebsocketEndpoint(options);
  return Object.assign((req: Request, room: string) => endpoint.accept(req, room), {
    close: () => endpoint.close(),
  });
}

class YWebsocketEndpoint {
  readonly #options: YWebsocketOptions;
  readonly #rooms = new Map<string, Room>();
  readonly #conns = new Set<Connection>();
  readonly #unsubscribe: (() => void)[];
  readonly #maxFrameBytes: number;
  #closed = false;

  constructor(options: YWebsocketOptions) {
    this.#options = options;
    this.#maxFrameBytes = options.maxUpdateBytes + FRAME_HEADER_BYTES;
    this.#unsubscribe = [
      options.docs.onUpdate((committed) => this.#committed(committed)),
      options.docs.onReset((doc) => this.#reset(doc)),
    ];
  }

  accept(req: Request, room: string): Response {
    if (this.#closed) return new Response("Server is shutting down\n", { status: 503 });
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return new Response("Expected a WebSocket upgrade (y-websocket protocol)\n", {
        status: 426,
        headers: { upgrade: "websocket" },
      });
    }
    const token = new URL(req.url).searchParams.get("token") ?? undefined;
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = Deno.upgradeWebSocket(req);
    } catch (err) {
      return new Response(`Bad WebSocket upgrade: ${errorText(err)}\n`, { status: 400 });
    }
    const { socket, response } = upgraded;
    socket.binaryType = "arraybuffer";
    const conn = new Connection(socket);
    this.#conns.add(conn);
    const opened = new Promise<boolean>((resolve) => {
      socket.onopen = () => resolve(true);
      socket.onclose = () => {
        resolve(false);
        this.#leave(conn);
      };
    });
    socket.onerror = () => {}; // the close event follows
    socket.onmessage = (event) => this.#received(conn, event.data);
    this.#start(conn, room, token, opened).catch((err) => {
      this.#options.log.error("y-websocket connection failed", { doc: room, error: String(err) });
      this.#close(conn, Y_CLOSE.internalError, "Internal error");
    });
    return response;
  }

  close(): void {
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    for (const conn of this.#conns) this.#close(conn, Y_CLOSE.goingAway, "Server is shutting down");
  }

  async #start(
    conn: Connection,
    name: string,
    token: string | undefined,
    opened: Promise<boolean>,
  ): Promise<void> {
    let access: DocAccess;
    try {
      const { claims } = await this.#options.authenticate(token);
      access = docAccess(claims, name, this.#options.anonymous);
    } catch (err) {
      if (!await opened) return;
      const unavailable = (err as { code?: unknown } | null)?.code === "ERR_UNAVAILABLE";
      return this.#close(
        conn,
        unavailable ? Y_CLOSE.unavailable : Y_CLOSE.unauthorized,
        err instanceof Error ? err.message : "Invalid token",
      );
    }
    // The socket may have closed while the token was checked: then it must not join a room.
    if (!await opened || conn.closed) return;
    if (access === "none") {
      return this.#close(
        conn,
        Y_CLOSE.forbidden,
        `No access to document "${name}": the token's docs claim does not grant it`,
      );
    }
    conn.access = access;
    const room = this.#join(conn, name);
    let loaded: LoadedDoc;
    try {
      loaded = await room.ready;
    } catch (err) {
      if (conn.closed) return;
      return this.#close(conn, ...closeFor(err, this.#options.log, name));
    }
    if (conn.closed) return;
    conn.send(encodeSyncStep1(loaded.doc));
    const clients = [...loaded.awareness.getStates().keys()].filter((id) =>
      id !== loaded.awareness.clientID
    );
    if (clients.length > 0) {
      conn.send(encodeAwarenessMessage(
        awarenessProtocol.encodeAwarenessUpdate(loaded.awareness, clients),
      ));
    }
    const queued = conn.queue ?? [];
    conn.queue = undefined;
    for (const frame of queued) {
      if (conn.closed) return;
      this.#handle(conn, loaded, frame);
    }
  }

  #join(conn: Connection, name: string): Room {
    let room = this.#rooms.get(name);
    if (!room) {
      const created = room = new Room(name);
      this.#rooms.set(name, room);
      room.ready = this.#options.docs.open(name).then((loaded) => {
        if (created.gone) {
          this.#options.docs.release(name);
          throw new Error("Room closed while its document loaded");
        }
        created.loaded = loaded;
        created.stopAwareness = watchAwareness(created, loaded, this.#options.onAwareness);
        return loaded;
      }, (err) => {
        this.#drop(created);
        throw err;
      });
      // Connections handle the rejection; this keeps it from being unhandled when they are gone.
      room.ready.catch(() => {});
    }
    conn.room = room;
    room.conns.add(conn);
    return room;
  }

  #received(conn: Connection, data: unknown): void {
    if (conn.closed) return;
    if (!(data instanceof ArrayBuffer)) {
      return this.#close(
        conn,
        Y_CLOSE.unsupportedData,
        "Unsupported data: y-websocket messages are binary frames, not text",
      );
    }
    if (data.byteLength > this.#maxFrameBytes) {
      return this.#close(
        conn,
        Y_CLOSE.tooBig,
        `Frame of ${data.byteLength} bytes is over sync.max_update_bytes (${this.#options.maxUpdateBytes})`,
      );
    }
    const frame = new Uint8Array(data);
    if (conn.queue) {
      if (conn.queue.length >= MAX_QUEUED_FRAMES) {
        return this.#close(
          conn,
          Y_CLOSE.tryAgainLater,
          "Too many frames before the document loaded",
        );
      }
      conn.queue.push(frame);
      return;
    }
    const loaded = conn.room?.loaded;
    if (loaded) this.#handle(conn, loaded, frame);
  }

  #handle(conn: Connection, loaded: LoadedDoc, frame: Uint8Array): void {
    let message: YMessage;
    try {
      message = decodeYMessage(frame);
    } catch (err) {
      return this.#close(conn, Y_CLOSE.unsupportedData, `Malformed message: ${errorText(err)}`);
    }
    switch (message.type) {
      case "sync-step1":
        return conn.send(encodeSyncStep2(loaded.doc, message.stateVector));
      case "sync-step2":
      case "update":
        return this.#write(conn, loaded, message.update);
      case "awareness":
        return awarenessProtocol.applyAwarenessUpdate(loaded.awareness, message.update, conn);
      case "query-awareness": {
        const clients = [...loaded.awareness.getStates().keys()];
        return conn.send(encodeAwarenessMessage(
          awarenessProtocol.encodeAwarenessUpdate(loaded.awareness, clients),
        ));
      }
      case "auth":
        return;
    }
  }

  #write(conn: Connection, loaded: LoadedDoc, update: Uint8Array): void {
    if (conn.access !== "rw") {
      let noop: boolean;
      try {
        noop = changesNothing(loaded.doc, update);
      } catch (err) {
        return this.#close(conn, Y_CLOSE.unsupportedData, `Malformed update: ${errorText(err)}`);
      }
      // The client's step 2 after connecting is a no-op unless it edited offline: no warning.
      if (!noop && !conn.denied) {
        conn.denied = true;
        conn.send(encodePermissionDenied(READ_ONLY_REASON));
      }
      return;
    }
    // Called in arrival order without waiting, so one client's updates commit in order and
    // share group commits; the copy detaches the update from the frame buffer.
    this.#options.docs.apply(loaded.name, update.slice(), conn).catch((err) => {
      if (!conn.closed) this.#close(conn, ...closeFor(err, this.#options.log, loaded.name));
    });
  }

  #committed({ doc, update, origin }: CommittedUpdate): void {
    const room = this.#rooms.get(doc);
    if (!room?.loaded) return;
    const frame = encodeSyncUpdate(update);
    for (const conn of room.conns) {
      // A connection still queueing gets this in the step 2 answering its step 1.
      if (conn !== origin && !conn.queue) conn.send(frame);
    }
  }

  #reset(doc: string): void {
    const room = this.#rooms.get(doc);
    if (!room) return;
    // Holds belong to the name, not to the dropped copy: this one is still ours to release.
    this.#drop(room);
    if (room.loaded) this.#options.docs.release(doc);
    for (const conn of room.conns) {
      this.#close(conn, Y_CLOSE.resync, "Document reloaded after a storage failure: resync");
    }
  }

  #close(conn: Connection, code: number, reason: string): void {
    if (conn.closed) return;
    this.#options.log.debug("y-websocket closed", { doc: conn.room?.name, code, reason });
    this.#leave(conn);
    try {
      conn.socket.close(code, truncateUtf8(reason, MAX_REASON_BYTES));
    } catch {
      conn.socket.close();
    }
  }

  /** Take `conn` out of everything; called on our close and on the socket's. */
  #leave(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.queue = undefined;
    this.#conns.delete(conn);
    const room = conn.room;
    if (!room) return;
    room.conns.delete(conn);
    if (room.loaded && conn.controlled.size > 0) {
      awarenessProtocol.removeAwarenessStates(room.loaded.awareness, [...conn.controlled], conn);
    }
    if (room.conns.size === 0 && !room.gone) {
      this.#drop(room);
      if (room.loaded) this.#options.docs.release(room.name);
    }
  }

  #drop(room: Room): void {
    room.gone = true;
    room.stopAwareness?.();
    if (this.#rooms.get(room.name) === room) this.#rooms.delete(room.name);
  }
}

function closeFor(err: unknown, log: Logger, doc: string): [number, string] {
  if (err instanceof SyncError) {
    switch (err.code) {
      case "ERR_BAD_UPDATE":
        return [Y_CLOSE.unsupportedData, err.message];
      case "ERR_UPDATE_TOO_LARGE":
        return [Y_CLOSE.tooBig, err.message];
      case "ERR_DOC_TOO_LARGE":
        return [Y_CLOSE.docTooLarge, err.message];
      case "ERR_BAD_DOC_NAME":
        return [Y_CLOSE.badRoom, err.message];
      case "ERR_SYNC_LIMIT":
      case "ERR_UNAVAILABLE":
        log.warn("y-websocket document unavailable", { doc, code: err.code, error: err.message });
        return [Y_CLOSE.unavailable, err.message];
    }
  }
  log.error("y-websocket internal error", { doc, error: errorText(err) });
  return [Y_CLOSE.internalError, "Internal error"];
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
