/**
 * The in-memory broker: one process, history in arrays, presence in maps.
 *
 * @module
 */

import type {
  Broker,
  BrokerSink,
  HistoryQuery,
  HistoryResult,
  PresenceStore,
  Publication,
  PublishOptions,
} from "../../core/broker.ts";
import type { ClientInfo } from "../../core/protocol.ts";

interface Stream {
  epoch: string;
  offset: number;
  /** History TTL of the last publish (ms). */
  ttlMs: number;
  /** When it was created or last published to (ms). */
  active: number;
  /** Publications with the time they were saved, oldest first. */
  items: { pub: Publication; at: number }[];
}

/** Options of {@linkcode MemoryBroker}. */
export interface MemoryBrokerOptions {
  /** Clock (ms); tests pass a fake one. */
  now?: () => number;
}

/**
 * A {@linkcode Broker} that keeps everything in this process.
 *
 * @example
 * ```ts
 * import { MemoryBroker } from "./memory_broker.ts";
 * const broker = new MemoryBroker();
 * await broker.start({ publication() {}, join() {}, leave() {} });
 * const pub = await broker.publish("chat:lobby", "hi", { history: { size: 10, ttlMs: 60_000 } });
 * console.log(pub.offset); // 1
 * ```
 */
export class MemoryBroker implements Broker, PresenceStore {
  #sink: BrokerSink | undefined;
  #streams = new Map<string, Stream>();
  #subscribed = new Set<string>();
  #idempotency = new Map<string, { pub: Publication; expires: number }>();
  #presence = new Map<string, Map<string, { info: ClientInfo; expires: number }>>();
  #now: () => number;
  #closed = false;
  #lastSweep = 0;

  constructor(options: MemoryBrokerOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  start(sink: BrokerSink): Promise<void> {
    this.#sink = sink;
    return Promise.resolve();
  }

  publish(channel: string, data: unknown, options: PublishOptions): Promise<Publication> {
    const now = this.#now();
    this.#sweep(now);
    if (options.idempotencyKey !== undefined) {
      const seen = this.#idempotency.get(options.idempotencyKey);
      if (seen && seen.expires > now) return Promise.resolve(seen.pub);
    }
    const stream = this.#stream(channel);
    stream.ttlMs = options.history.ttlMs;
    stream.active = now;
    stream.offset += 1;
    const pub: Publication = { offset: stream.offset, epoch: stream.epoch, data };
    if (options.info) pub.info = options.info;
    if (options.history.size > 0) {
      stream.items.push({ pub, at: now });
      trim(stream, options.history.size, now - options.history.ttlMs);
    } else if (stream.items.length > 0) {
      stream.items.length = 0;
    }
    if (options.idempotencyKey !== undefined) {
      this.#idempotency.set(options.idempotencyKey, {
        pub,
        expires: now + (options.idempotencyTtlMs ?? 60_000),
      });
      if (this.#idempotency.size > 100_000) this.#expireIdempotency(now);
    }
    if (!this.#closed && this.#subscribed.has(channel)) this.#sink?.publication(channel, pub);
    return Promise.resolve(pub);
  }

  history(channel: string, query: HistoryQuery): Promise<HistoryResult> {
    const stream = this.#stream(channel);
    const top = { offset: stream.offset, epoch: stream.epoch };
    const since = query.since;
    if (!since || since.epoch !== stream.epoch || query.limit <= 0) {
      return Promise.resolve({ publications: [], top });
    }
    const publications: Publication[] = [];
    for (const { pub } of stream.items) {
      if (pub.offset > since.offset) {
        publications.push(pub);
        if (publications.length >= query.limit) break;
      }
    }
    return Promise.resolve({ publications, top });
  }

  subscribe(channel: string): Promise<void> {
    this.#subscribed.add(channel);
    return Promise.resolve();
  }

  unsubscribe(channel: string): Promise<void> {
    this.#subscribed.delete(channel);
    return Promise.resolve();
  }

  /** Channels whose stream position this broker still keeps (for tests and metrics). */
  get streamCount(): number {
    return this.#streams.size;
  }

  publishJoinLeave(channel: string, kind: "join" | "leave", info: ClientInfo): Promise<void> {
    if (!this.#closed && this.#subscribed.has(channel)) this.#sink?.[kind](channel, info);
    return Promise.resolve();
  }

  add(channel: string, clientId: string, info: ClientInfo, ttlMs: number): Promise<void> {
    let members = this.#presence.get(channel);
    if (!members) this.#presence.set(channel, members = new Map());
    members.set(clientId, { info, expires: this.#now() + ttlMs });
    return Promise.resolve();
  }

  remove(channel: string, clientId: string): Promise<void> {
    const members = this.#presence.get(channel);
    members?.delete(clientId);
    if (members?.size === 0) this.#presence.delete(channel);
    return Promise.resolve();
  }

  get(channel: string): Promise<Record<string, ClientInfo>> {
    const now = this.#now();
    const out: Record<string, ClientInfo> = {};
    const members = this.#presence.get(channel);
    for (const [id, entry] of members ?? []) {
      if (entry.expires > now) out[id] = entry.info;
      else members!.delete(id);
    }
    return Promise.resolve(out);
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#subscribed.clear();
    return Promise.resolve();
  }

  #stream(channel: string): Stream {
    let stream = this.#streams.get(channel);
    if (!stream) {
      stream = { epoch: newEpoch(), offset: 0, ttlMs: 0, active: this.#now(), items: [] };
      this.#streams.set(channel, stream);
    }
    return stream;
  }

  /**
   * Drop the streams of channels that nobody here listens to and that saw no publication for
   * `STREAM_IDLE_MS` (or their history TTL, if longer). A client that comes back later gets a
   * new epoch, so `recovered: false`, never a silent gap.
   */
  #sweep(now: number): void {
    if (now - this.#lastSweep < 60_000) return;
    this.#lastSweep = now;
    for (const [channel, stream] of this.#streams) {
      if (this.#subscribed.has(channel)) continue;
      if (now - stream.active > Math.max(STREAM_IDLE_MS, stream.ttlMs)) {
        this.#streams.delete(channel);
      }
    }
  }

  #expireIdempotency(now: number): void {
    for (const [key, entry] of this.#idempotency) {
      if (entry.expires <= now) this.#idempotency.delete(key);
    }
  }
}

/** How long an idle, unsubscribed channel keeps its stream position. */
export const STREAM_IDLE_MS = 3_600_000;

function trim(stream: Stream, size: number, oldest: number): void {
  let drop = Math.max(0, stream.items.length - size);
  while (drop < stream.items.length && stream.items[drop].at < oldest) drop++;
  if (drop > 0) stream.items.splice(0, drop);
}

function newEpoch(): string {
  return crypto.randomUUID().slice(0, 8);
}
