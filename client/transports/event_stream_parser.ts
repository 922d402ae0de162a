/**
 * A `text/event-stream` parser, for reading SSE through `fetch` where
 * `EventSource` is missing.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * One dispatched server-sent event.
 *
 * @example
 * ```ts
 * import { EventStreamParser, type ServerSentEvent } from "./event_stream_parser.ts";
 * const events: ServerSentEvent[] = new EventStreamParser().push("data: hi\n\n");
 * ```
 */
export interface ServerSentEvent {
  /** `event:` field; "message" when absent. */
  event: string;
  /** `data:` lines joined with "\n". */
  data: string;
  /** Last `id:` seen so far (sticky, as in the HTML spec). */
  id: string;
}

/**
 * Parses `text/event-stream` text fed in arbitrary pieces (HTML Living
 * Standard, "Interpreting an event stream"): CRLF, LF or CR line ends,
 * comments, multi-line data, an optional space after the colon.
 *
 * @example
 * ```ts
 * import { EventStreamParser } from "./event_stream_parser.ts";
 * const p = new EventStreamParser();
 * p.push("event: open\ndata: {\"conn\":\"c1\"}\n"); // []
 * p.push("\n"); // [{ event: "open", data: '{"conn":"c1"}', id: "" }]
 * ```
 */
export class EventStreamParser {
  #pending = "";
  #lastWasCr = false;
  #event = "";
  #data: string[] = [];
  #hasData = false;
  #id = "";

  /** Add decoded text; return the events it completed, in order. */
  push(text: string): ServerSentEvent[] {
    const out: ServerSentEvent[] = [];
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) {
        this.#lastWasCr = false;
        continue;
      }
      if (c === 10 && this.#lastWasCr && i === start && this.#pending === "") {
        // The LF of a CR LF pair: the CR already ended the line.
        this.#lastWasCr = false;
        start = i + 1;
        continue;
      }
      const line = this.#pending + text.slice(start, i);
      this.#pending = "";
      start = i + 1;
      this.#lastWasCr = c === 13;
      this.#line(line, out);
    }
    this.#pending += text.slice(start);
    return out;
  }

  #line(line: string, out: ServerSentEvent[]): void {
    if (line === "") {
      if (this.#hasData) {
        out.push({ event: this.#event || "message", data: this.#data.join("\n"), id: this.#id });
      }
      this.#event = "";
      this.#data = [];
      this.#hasData = false;
      return;
    }
    if (line.charCodeAt(0) === 58) return;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case "event":
        this.#event = value;
        break;
      case "data":
        this.#data.push(value);
        this.#hasData = true;
        break;
      case "id":
        if (!value.includes("\0")) this.#id = value;
        break;
    }
  }
}
