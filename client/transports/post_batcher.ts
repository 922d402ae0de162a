/**
 * The upstream half of the SSE transport: frames go to the server as POST
 * bodies, one frame per line. Frames sent in the same tick share one POST, and
 * only one POST is in flight at a time so the server handles them in order.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * Options of {@linkcode PostBatcher}.
 *
 * @example
 * ```ts
 * import { PostBatcher, type PostBatcherOptions } from "./post_batcher.ts";
 * const options: PostBatcherOptions = { url: "http://localhost:4480/switchyard/sse/c1", onError: console.log };
 * new PostBatcher(options);
 * ```
 */
export interface PostBatcherOptions {
  /** `POST` target: the SSE URL plus `/{conn}`. */
  url: string;
  /** Injected for tests; defaults to `globalThis.fetch`. */
  fetch?: typeof fetch;
  /**
   * Largest POST body (UTF-8 bytes); frames beyond it wait for the next POST.
   * A single larger frame still goes alone. Default 65 536.
   */
  maxBodyBytes?: number;
  /**
   * A POST failed: `status` is the HTTP status (0 for a network error). The
   * batcher stops; frames not yet sent are dropped (the client resends what
   * matters after it reconnects).
   */
  onError(status: number, message: string): void;
}

/**
 * Sends frames as ordered, batched POSTs.
 *
 * @example
 * ```ts
 * import { PostBatcher } from "./post_batcher.ts";
 * const out = new PostBatcher({
 *   url: "http://localhost:4480/switchyard/sse/c1",
 *   onError: (status) => console.log("POST failed", status),
 * });
 * out.send('{"type":"ping"}');
 * out.send('{"type":"pong"}'); // same POST as the ping
 * ```
 */
export class PostBatcher {
  #o: PostBatcherOptions;
  #fetch: typeof fetch;
  #queue: string[] = [];
  #scheduled = false;
  #inFlight: Promise<void> | null = null;
  #stopped = false;
  #abort = new AbortController();

  constructor(options: PostBatcherOptions) {
    this.#o = options;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** Queue one frame; it leaves with the next POST. */
  send(frame: string): void {
    if (this.#stopped) return;
    this.#queue.push(frame);
    if (!this.#scheduled && !this.#inFlight) {
      this.#scheduled = true;
      queueMicrotask(() => {
        this.#scheduled = false;
        this.#pump();
      });
    }
  }

  /** Resolves when everything queued so far has been posted (or the batcher stopped). */
  async drain(): Promise<void> {
    while (!this.#stopped && (this.#inFlight || this.#queue.length > 0 || this.#scheduled)) {
      if (this.#inFlight) await this.#inFlight;
      else await Promise.resolve();
    }
  }

  /** Stop: abort the POST in flight and drop the queue. */
  stop(): void {
    this.#stopped = true;
    this.#queue = [];
    this.#abort.abort();
  }

  #pump(): void {
    if (this.#stopped || this.#inFlight || this.#queue.length === 0) return;
    const max = this.#o.maxBodyBytes ?? 65_536;
    const encoder = new TextEncoder();
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length) {
      const size = encoder.encode(this.#queue[n]).length + 1;
      if (n > 0 && bytes + size > max) break;
      bytes += size;
      n += 1;
    }
    const body = this.#queue.slice(0, n).join("\n");
    this.#queue = this.#queue.slice(n);
    this.#inFlight = this.#post(body).finally(() => {
      this.#inFlight = null;
      this.#pump();
    });
  }

  async #post(body: string): Promise<void> {
    let status = 0;
    let message = "";
    try {
      const res = await this.#fetch(this.#o.url, {
        method: "POST",
        body,
        headers: { "content-type": "text/plain" },
        signal: this.#abort.signal,
      });
      status = res.status;
      message = res.ok ? "" : await res.text().catch(() => "");
      if (res.ok) {
        await res.body?.cancel();
        return;
      }
    } catch (err) {
      message = String((err as Error)?.message ?? err);
    }
    if (this.#stopped) return;
    this.stop();
    this.#o.onError(status, message);
  }
}
