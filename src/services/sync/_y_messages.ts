/**
 * The frames of the y-websocket protocol (one message per WebSocket frame),
 * decoded strictly: a frame that is truncated, has trailing bytes or an
 * unknown type is refused as a whole, before anything acts on it.
 *
 * Wire format (lib0 varuints): `0` sync + (`0` step 1 + state vector | `1` step 2 + update |
 * `2` update), `1` awareness + awareness update, `2` auth + (`0` permission denied + reason),
 * `3` query awareness.
 *
 * @module
 */

import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import * as authProtocol from "y-protocols/auth";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";

/** Message types of the y-websocket protocol (first varuint of a frame). */
export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;

/** A decoded client frame. Byte arrays are views into the frame. */
export type YMessage =
  | { type: "sync-step1"; stateVector: Uint8Array }
  | { type: "sync-step2"; update: Uint8Array }
  | { type: "update"; update: Uint8Array }
  | { type: "awareness"; update: Uint8Array }
  | { type: "query-awareness" }
  | { type: "auth" };

/** A frame that is not a y-websocket message. The message says what is wrong with it. */
export class YMessageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "YMessageError";
  }
}

/**
 * Decode one client frame. Throws {@linkcode YMessageError} when it is not
 * exactly one well-formed message. The Yjs update inside a sync message is
 * not checked here (the document manager refuses a bad one); a state vector
 * and an awareness update are checked in full.
 */
export function decodeYMessage(frame: Uint8Array): YMessage {
  const decoder = decoding.createDecoder(frame);
  const message = read(decoder, () => readMessage(decoder));
  if (decoding.hasContent(decoder)) {
    throw new YMessageError(`${frame.length - decoder.pos} bytes after the end of the message`);
  }
  return message;
}

function readMessage(decoder: decoding.Decoder): YMessage {
  const type = decoding.readVarUint(decoder);
  switch (type) {
    case MESSAGE_SYNC: {
      const step = decoding.readVarUint(decoder);
      const payload = decoding.readVarUint8Array(decoder);
      switch (step) {
        case syncProtocol.messageYjsSyncStep1:
          checkStateVector(payload);
          return { type: "sync-step1", stateVector: payload };
        case syncProtocol.messageYjsSyncStep2:
          return { type: "sync-step2", update: payload };
        case syncProtocol.messageYjsUpdate:
          return { type: "update", update: payload };
        default:
          throw new YMessageError(`unknown sync message type ${step}`);
      }
    }
    case MESSAGE_AWARENESS: {
      const update = decoding.readVarUint8Array(decoder);
      checkAwarenessUpdate(update);
      return { type: "awareness", update };
    }
    case MESSAGE_AUTH:
      // Only servers send auth messages; a client's is read in full and ignored.
      decoding.readVarUint(decoder);
      decoding.readVarString(decoder);
      return { type: "auth" };
    case MESSAGE_QUERY_AWARENESS:
      return { type: "query-awareness" };
    default:
      throw new YMessageError(`unknown message type ${type}`);
  }
}

function checkStateVector(bytes: Uint8Array): void {
  const decoder = decoding.createDecoder(bytes);
  const count = decoding.readVarUint(decoder);
  for (let i = 0; i < count; i++) {
    decoding.readVarUint(decoder);
    decoding.readVarUint(decoder);
  }
  if (decoding.hasContent(decoder)) throw new YMessageError("trailing bytes in the state vector");
}

function checkAwarenessUpdate(bytes: Uint8Array): void {
  const decoder = decoding.createDecoder(bytes);
  const count = decoding.readVarUint(decoder);
  for (let i = 0; i < count; i++) {
    decoding.readVarUint(decoder);
    decoding.readVarUint(decoder);
    const state = decoding.readVarString(decoder);
    try {
      JSON.parse(state);
    } catch {
      throw new YMessageError("an awareness state is not JSON");
    }
  }
  if (decoding.hasContent(decoder)) {
    throw new YMessageError("trailing bytes in the awareness update");
  }
}

function read<T>(decoder: decoding.Decoder, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof YMessageError) throw err;
    // lib0 throws plain Errors ("Unexpected end of array", "Integer out of Range").
    const detail = err instanceof Error ? err.message.toLowerCase() : String(err);
    throw new YMessageError(`${detail} at byte ${decoder.pos}`, { cause: err });
  }
}

function frame(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  write(encoder);
  return encoding.toUint8Array(encoder);
}

/** Sync step 1: the state vector of `doc`. */
export function encodeSyncStep1(doc: Y.Doc): Uint8Array {
  return frame((encoder) => {
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeSyncStep1(encoder, doc);
  });
}

/** Sync step 2: what `doc` has that a peer with `stateVector` lacks. Throws on a bad vector. */
export function encodeSyncStep2(doc: Y.Doc, stateVector: Uint8Array): Uint8Array {
  return frame((encoder) => {
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeSyncStep2(encoder, doc, stateVector);
  });
}

/** A sync update message carrying `update`. */
export function encodeSyncUpdate(update: Uint8Array): Uint8Array {
  return frame((encoder) => {
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeUpdate(encoder, update);
  });
}

/** An awareness message carrying an encoded awareness update. */
export function encodeAwarenessMessage(update: Uint8Array): Uint8Array {
  return frame((encoder) => {
    encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(encoder, update);
  });
}

/** The auth message `permission-denied` with `reason`. */
export function encodePermissionDenied(reason: string): Uint8Array {
  return frame((encoder) => {
    encoding.writeVarUint(encoder, MESSAGE_AUTH);
    authProtocol.writePermissionDenied(encoder, reason);
  });
}

/** Whether applying `update` to `doc` would change nothing. Throws on a malformed update. */
export function changesNothing(doc: Y.Doc, update: Uint8Array): boolean {
  return Y.snapshotContainsUpdate(Y.snapshot(doc), update);
}
