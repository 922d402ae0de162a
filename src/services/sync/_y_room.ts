/**
 * The state of the y-websocket endpoint: a connection, a room (the connections
 * of one document), and the awareness relay of a room.
 *
 * @module
 */

import * as awarenessProtocol from "y-protocols/awareness";
import type { DocAccess, LoadedDoc } from "./types.ts";
import { encodeAwarenessMessage } from "./_y_messages.ts";

/** One y-websocket client socket. */
export class Connection {
  readonly socket: WebSocket;
  /** Frames received before the document was ready; `undefined` once it is. */
  queue: Uint8Array[] | undefined = [];
  room: Room | undefined;
  access: DocAccess = "none";
  /** Awareness client ids this connection set, removed when it closes. */
  readonly controlled = new Set<number>();
  denied = false;
  closed = false;

  constructor(socket: WebSocket) {
    this.socket = socket;
  }

  send(frame: Uint8Array): void {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return;
    try {
      this.socket.send(frame);
    } catch {
      // The socket died between the check and the send: its close event follows.
    }
  }
}

/** The connections of one document, and the hold on it. */
export class Room {
  readonly name: string;
  readonly conns = new Set<Connection>();
  ready!: Promise<LoadedDoc>;
  loaded: LoadedDoc | undefined;
  /** Left by its last connection or reset: not in the room map any more. */
  gone = false;
  stopAwareness: (() => void) | undefined;

  constructor(name: string) {
    this.name = name;
  }
}

/**
 * Send each awareness change to every ready connection of `room`, the sender
 * included (the client drops a socket that is silent for 30 s), track
 * which client ids each connection controls, and pass the changes y-websocket
 * clients made to `onClientChange`.
 */
export function watchAwareness(
  room: Room,
  loaded: LoadedDoc,
  onClientChange?: (doc: string, update: Uint8Array) => void,
): () => void {
  const { awareness } = loaded;
  const listener = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ) => {
    if (origin instanceof Connection) {
      for (const id of added) origin.controlled.add(id);
      for (const id of updated) origin.controlled.add(id);
      for (const id of removed) origin.controlled.delete(id);
    }
    const changed = [...added, ...updated, ...removed].filter((id) => id !== awareness.clientID);
    if (changed.length === 0) return;
    const update = awarenessProtocol.encodeAwarenessUpdate(awareness, changed);
    const frame = encodeAwarenessMessage(update);
    for (const conn of room.conns) if (!conn.queue) conn.send(frame);
    if (origin instanceof Connection) onClientChange?.(room.name, update);
  };
  awareness.on("update", listener);
  return () => awareness.off("update", listener);
}
