/**
 * Line capture for a child's output: a fixed-size ring of recent lines and a pump that splits
 * a byte stream into lines.
 *
 * @module
 */

/** One line a session's process wrote. */
export interface LogLine {
  /** Which pipe it came from. */
  stream: "stdout" | "stderr";
  /** The line without its line ending; cut at {@linkcode MAX_LINE_LENGTH} characters. */
  text: string;
  /** When it was read, in milliseconds since the epoch. */
  at: number;
}

/** Longer lines are cut, so a process that prints without newlines cannot exhaust memory. */
export const MAX_LINE_LENGTH = 8192;

/** Keeps the last `size` lines. */
export class LogRing {
  #lines: LogLine[] = [];
  #next = 0;
  readonly #size: number;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`Invalid log ring size ${size}`);
    this.#size = size;
  }

  push(line: LogLine): void {
    if (this.#lines.length < this.#size) this.#lines.push(line);
    else this.#lines[this.#next] = line;
    this.#next = (this.#next + 1) % this.#size;
  }

  /** The kept lines, oldest first. */
  toArray(): LogLine[] {
    if (this.#lines.length < this.#size) return [...this.#lines];
    return [...this.#lines.slice(this.#next), ...this.#lines.slice(0, this.#next)];
  }
}

/** Reads `stream` to its end and calls `onLine` for each line (`\n` or `\r\n` ended). */
export async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (text: string) => void,
): Promise<void> {
  let pending = "";
  const emit = (text: string) =>
    onLine(text.length > MAX_LINE_LENGTH ? text.slice(0, MAX_LINE_LENGTH) : text);
  try {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf("\n")) !== -1) {
        emit(pending.slice(0, newline).replace(/\r$/, ""));
        pending = pending.slice(newline + 1);
      }
      if (pending.length > MAX_LINE_LENGTH) {
        emit(pending);
        pending = "";
      }
    }
  } catch {
    // The pipe broke: the lines read so far are all there is.
  }
  if (pending !== "") emit(pending.replace(/\r$/, ""));
}
