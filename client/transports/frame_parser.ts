/**
 * Length-prefixed framing of the WebTransport stream: each frame is a 4-byte
 * big-endian length followed by that many bytes of UTF-8 JSON.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { SwitchyardClientError } from "../client_error.ts";

/**
 * Default largest frame accepted from the server (bytes).
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_FRAME_BYTES, FrameParser } from "./frame_parser.ts";
 * new FrameParser({ maxFrameBytes: DEFAULT_MAX_FRAME_BYTES / 4 });
 * ```
 */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

const encoder = new TextEncoder();

/**
 * Encode one frame text as a length prefix plus UTF-8 bytes.
 *
 * @example
 * ```ts
 * import { encodeLengthPrefixed } from "./frame_parser.ts";
 * encodeLengthPrefixed("{}"); // Uint8Array [0, 0, 0, 2, 123, 125]
 * ```
 */
export function encodeLengthPrefixed(text: string): Uint8Array {
  const body = encoder.encode(text);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

/**
 * Reassembles frames from stream chunks split anywhere: a chunk may hold part
 * of a length prefix, several frames, or a frame's middle.
 *
 * @example
 * ```ts
 * import { FrameParser, encodeLengthPrefixed } from "./frame_parser.ts";
 * const parser = new FrameParser();
 * const bytes = encodeLengthPrefixed('{"type":"ping"}');
 * parser.push(bytes.subarray(0, 3)); // []
 * parser.push(bytes.subarray(3)); // ['{"type":"ping"}']
 * ```
 */
export class FrameParser {
  #maxFrameBytes: number;
  #decoder = new TextDecoder("utf-8", { fatal: true });
  #buf = new Uint8Array(0);
  #start = 0;
  #end = 0;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** Bytes received and not yet part of a complete frame. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Add a chunk; return the frames it completed, in order.
   *
   * @throws {SwitchyardClientError} `ERR_MESSAGE_TOO_LARGE` for a length over
   * the limit, `ERR_BAD_FRAME` for a body that is not UTF-8. The parser is
   * unusable afterwards.
   */
  push(chunk: Uint8Array): string[] {
    this.#append(chunk);
    const frames: string[] = [];
    while (this.#end - this.#start >= 4) {
      const view = new DataView(this.#buf.buffer, this.#buf.byteOffset + this.#start, 4);
      const length = view.getUint32(0);
      if (length > this.#maxFrameBytes) {
        throw new SwitchyardClientError(
          "ERR_MESSAGE_TOO_LARGE",
          `Frame of ${length} bytes is over the limit of ${this.#maxFrameBytes} bytes`,
        );
      }
      if (this.#end - this.#start - 4 < length) break;
      const body = this.#buf.subarray(this.#start + 4, this.#start + 4 + length);
      try {
        frames.push(this.#decoder.decode(body));
      } catch {
        throw new SwitchyardClientError("ERR_BAD_FRAME", "Malformed frame: not valid UTF-8");
      }
      this.#start += 4 + length;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return frames;
  }

  #append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const used = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buf.length) {
      if (used + chunk.length <= this.#buf.length && this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        const grown = new Uint8Array(Math.max(used + chunk.length, this.#buf.length * 2, 256));
        grown.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = grown;
      }
      this.#start = 0;
      this.#end = used;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }
}
