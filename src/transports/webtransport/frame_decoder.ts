/**
 * Length-prefixed framing of the WebTransport stream (docs/protocol.md): each
 * frame is a 4-byte big-endian byte length followed by that many bytes of
 * UTF-8 JSON.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { SwitchyardError } from "../../core/errors.ts";

const HEADER_BYTES = 4;
const encoder = new TextEncoder();

/**
 * Encode one frame text as its length prefix followed by its UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { encodeLengthPrefixed } from "./mod.ts";
 * encodeLengthPrefixed("{}"); // Uint8Array [0, 0, 0, 2, 123, 125]
 * ```
 */
export function encodeLengthPrefixed(text: string): Uint8Array<ArrayBuffer> {
  // A UTF-8 encoding is at most 3 bytes per UTF-16 code unit: encode in place, then trim.
  const out = new Uint8Array(HEADER_BYTES + text.length * 3);
  const { written } = encoder.encodeInto(text, out.subarray(HEADER_BYTES));
  new DataView(out.buffer).setUint32(0, written);
  return out.subarray(0, HEADER_BYTES + written);
}

/**
 * Reassembles frames from stream chunks split anywhere: a chunk may hold part
 * of a length prefix, the middle of a frame, or several frames.
 *
 * A frame announced longer than `maxFrameBytes` is refused as soon as its
 * prefix is complete, before its body is buffered.
 *
 * @example
 * ```ts
 * import { encodeLengthPrefixed, FrameDecoder } from "./mod.ts";
 * const decoder = new FrameDecoder({ maxFrameBytes: 65_536 });
 * const bytes = encodeLengthPrefixed('{"type":"ping"}');
 * const frames: string[] = [];
 * decoder.push(bytes.subarray(0, 3), (f) => frames.push(f)); // frames: []
 * decoder.push(bytes.subarray(3), (f) => frames.push(f)); // frames: ['{"type":"ping"}']
 * ```
 */
export class FrameDecoder {
  readonly #max: number;
  readonly #text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  readonly #header = new Uint8Array(HEADER_BYTES);
  #headerFill = 0;
  /** Body of the frame being assembled, once its header is complete. */
  #body: Uint8Array | undefined;
  #bodyFill = 0;
  #failed = false;

  /** A decoder that refuses frames longer than `maxFrameBytes`. */
  constructor(options: { maxFrameBytes: number }) {
    this.#max = options.maxFrameBytes;
  }

  /** Bytes received that are not yet part of a complete frame. */
  get buffered(): number {
    return this.#headerFill + this.#bodyFill;
  }

  /**
   * Add a chunk and call `onFrame` for each frame it completes, in order.
   *
   * @throws {SwitchyardError} `ERR_MESSAGE_TOO_LARGE` when a prefix announces
   * more than `maxFrameBytes`; `ERR_BAD_FRAME` when a body is not valid UTF-8.
   * Frames before the faulty one have been passed to `onFrame` by then. The
   * decoder refuses every later chunk with `ERR_BAD_FRAME`.
   */
  push(chunk: Uint8Array, onFrame: (text: string) => void): void {
    if (this.#failed) throw new SwitchyardError("ERR_BAD_FRAME", "Frame decoder already failed");
    let at = 0;
    while (at < chunk.length) {
      if (this.#body === undefined) {
        // Fast path: a whole frame inside the chunk is decoded without copying.
        if (this.#headerFill === 0 && chunk.length - at >= HEADER_BYTES) {
          const length = readLength(chunk, at);
          this.#check(length);
          if (chunk.length - at - HEADER_BYTES >= length) {
            const start = at + HEADER_BYTES;
            onFrame(this.#decode(chunk.subarray(start, start + length)));
            at = start + length;
            continue;
          }
        }
        const take = Math.min(HEADER_BYTES - this.#headerFill, chunk.length - at);
        this.#header.set(chunk.subarray(at, at + take), this.#headerFill);
        this.#headerFill += take;
        at += take;
        if (this.#headerFill < HEADER_BYTES) break;
        const length = readLength(this.#header, 0);
        this.#check(length);
        this.#body = new Uint8Array(length);
        this.#bodyFill = 0;
      }
      const body = this.#body;
      const take = Math.min(body.length - this.#bodyFill, chunk.length - at);
      body.set(chunk.subarray(at, at + take), this.#bodyFill);
      this.#bodyFill += take;
      at += take;
      if (this.#bodyFill === body.length) {
        this.#body = undefined;
        this.#headerFill = 0;
        this.#bodyFill = 0;
        onFrame(this.#decode(body));
      }
    }
  }

  #check(length: number): void {
    if (length <= this.#max) return;
    this.#failed = true;
    throw new SwitchyardError(
      "ERR_MESSAGE_TOO_LARGE",
      `Frame of ${length} bytes is over limits.max_message_bytes (${this.#max})`,
    );
  }

  #decode(bytes: Uint8Array): string {
    try {
      return this.#text.decode(bytes);
    } catch {
      this.#failed = true;
      throw new SwitchyardError("ERR_BAD_FRAME", "Malformed frame: not valid UTF-8");
    }
  }
}

function readLength(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) >>> 0) + (bytes[at + 1] << 16) + (bytes[at + 2] << 8) + bytes[at + 3];
}
