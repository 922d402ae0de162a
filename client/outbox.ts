/**
 * The outbox: requests waiting for their `reply`.
 *
 * Every request gets an `id` (unique for the client's lifetime, so a late
 * reply can never be taken for another request); `publish` and `rpc` also get
 * a `seq` (1, 2, 3… for the client's lifetime, kept across sessions), which
 * the server applies once. An entry stays until its reply arrives. After a
 * reconnect or a transport switch, the client resends every resendable entry
 * not yet sent on the new connection, in id order, which is seq order.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { ClientFrame } from "../src/core/protocol.ts";

/**
 * Kinds of request the outbox holds.
 *
 * @example
 * ```ts
 * import type { RequestKind } from "./outbox.ts";
 * const kind: RequestKind = "publish";
 * ```
 */
export type RequestKind = "publish" | "rpc" | "presence" | "subscribe" | "unsubscribe" | "refresh";

/** Requests that carry a `seq` and are applied once by the server. */
const SEQUENCED: ReadonlySet<RequestKind> = new Set(["publish", "rpc"]);
/**
 * Requests resent after a reconnect. Subscriptions are not: the `connect`
 * frame lists the wanted channels, which supersedes any in-flight
 * subscribe/unsubscribe; a refresh is superseded by the token in `connect`.
 */
const RESENT: ReadonlySet<RequestKind> = new Set(["publish", "rpc", "presence"]);

/**
 * One pending request.
 *
 * @example
 * ```ts
 * import { Outbox, type OutboxEntry } from "./outbox.ts";
 * const entry: OutboxEntry = new Outbox().add({ type: "rpc", method: "time" }).entry;
 * console.log(entry.id, entry.seq);
 * ```
 */
export interface OutboxEntry {
  readonly id: number;
  readonly seq?: number;
  readonly kind: RequestKind;
  /** The encoded frame, sent verbatim each time. */
  readonly text: string;
  /** Resent after a reconnect (see {@linkcode RESENT}). */
  readonly resend: boolean;
  /** What the request is about (e.g. the subscription); opaque to the outbox. */
  readonly context: unknown;
  /** The connection it was last sent on, `null` if never sent. */
  sentOn: object | null;
  resolve(result: unknown): void;
  reject(err: Error): void;
}

/**
 * A request frame without the fields the outbox assigns.
 *
 * @example
 * ```ts
 * import type { RequestFrame } from "./outbox.ts";
 * const frame: RequestFrame = { type: "publish", channel: "news", data: 1 };
 * ```
 */
export type RequestFrame = ClientFrame extends infer F
  ? F extends { id: number } ? Omit<F, "id" | "seq"> : never
  : never;

/**
 * Pending requests in id order.
 *
 * @example
 * ```ts
 * import { Outbox } from "./outbox.ts";
 * const outbox = new Outbox();
 * const { entry, promise } = outbox.add({ type: "publish", channel: "news", data: 1 });
 * entry.text; // '{"type":"publish","channel":"news","data":1,"id":1,"seq":1}'
 * outbox.take(entry.id)?.resolve({ offset: 1, epoch: "e" });
 * await promise; // { offset: 1, epoch: "e" }
 * ```
 */
export class Outbox {
  #entries = new Map<number, OutboxEntry>();
  #nextId = 1;
  #nextSeq = 1;

  /** Pending requests. */
  get size(): number {
    return this.#entries.size;
  }

  /** The seq the next publish/rpc will get. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** A fresh id for a frame that is not a pending request (e.g. `connect`). */
  allocateId(): number {
    return this.#nextId++;
  }

  /**
   * Add a request; `context` travels with the entry. Throws a `RangeError`, and
   * uses no id or seq, when its frame would be longer than `maxBytes` (UTF-8):
   * a seq the server never sees would leave a gap in its record.
   */
  add(
    frame: RequestFrame,
    context?: unknown,
    maxBytes = Infinity,
  ): { entry: OutboxEntry; promise: Promise<unknown> } {
    const kind = frame.type as RequestKind;
    const id = this.#nextId;
    const seq = SEQUENCED.has(kind) ? this.#nextSeq : undefined;
    const full = seq === undefined ? { ...frame, id } : { ...frame, id, seq };
    const text = JSON.stringify(full);
    if (text.length > maxBytes / 3 && new TextEncoder().encode(text).length > maxBytes) {
      throw new RangeError(`Frame over ${maxBytes} bytes`);
    }
    this.#nextId += 1;
    if (seq !== undefined) this.#nextSeq += 1;
    let resolve!: (v: unknown) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<unknown>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const entry: OutboxEntry = {
      id,
      seq,
      kind,
      text,
      resend: RESENT.has(kind),
      context,
      sentOn: null,
      resolve,
      reject,
    };
    this.#entries.set(id, entry);
    return { entry, promise };
  }

  /** Remove and return the entry a reply with `id` answers; `undefined` for an unknown id. */
  take(id: number): OutboxEntry | undefined {
    const entry = this.#entries.get(id);
    if (entry) this.#entries.delete(id);
    return entry;
  }

  /** Pending entries in id order. */
  entries(): OutboxEntry[] {
    return [...this.#entries.values()];
  }

  /** Resendable entries not yet sent on `link`, in id (hence seq) order. */
  unsentOn(link: object): OutboxEntry[] {
    return this.entries().filter((e) => e.resend && e.sentOn !== link);
  }

  /** Remove the entries `test` selects and return them. */
  remove(test: (entry: OutboxEntry) => boolean): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const entry of this.#entries.values()) {
      if (test(entry)) {
        this.#entries.delete(entry.id);
        out.push(entry);
      }
    }
    return out;
  }

  /** Reject and remove every pending request. */
  rejectAll(err: Error): void {
    for (const entry of this.remove(() => true)) entry.reject(err);
  }
}
