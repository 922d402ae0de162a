/**
 * Test doubles for the core: an in-memory connection and a manual clock.
 *
 * @module
 */

import { MemoryBroker } from "../broker/memory/memory_broker.ts";
import { ANONYMOUS, type Authenticator } from "./authenticator.ts";
import type { Connection, Link, TransportKind } from "./connection.ts";
import { type Clock, Hub, type HubLimits, type SessionTiming } from "./hub.ts";
import { DEFAULT_NAMESPACE, type NamespaceOptions, Namespaces } from "./namespaces.ts";
import type { ClientFrame, ServerFrame } from "./protocol.ts";

/** A clock whose time only moves when told to. */
export class ManualClock implements Clock {
  time = 1_000_000;
  #timers = new Map<number, { fn: () => void; ms: number; next: number }>();
  #id = 0;

  now(): number {
    return this.time;
  }

  setInterval(fn: () => void, ms: number): unknown {
    this.#id += 1;
    this.#timers.set(this.#id, { fn, ms, next: this.time + ms });
    return this.#id;
  }

  clearInterval(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Move time forward, firing intervals on the way. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: { fn: () => void; ms: number; next: number } | undefined;
      for (const t of this.#timers.values()) if (!next || t.next < next.next) next = t;
      if (!next || next.next > end) break;
      this.time = next.next;
      next.next += next.ms;
      next.fn();
    }
    this.time = end;
  }
}

/** A connection that records what the hub sends. */
export class FakeConnection implements Connection {
  readonly sent: ServerFrame[] = [];
  closedWith: { code: number; reason: string } | undefined;
  bufferedAmount = 0;
  link!: Link;
  #waiters: { pred: (f: ServerFrame) => boolean; resolve: (f: ServerFrame) => void }[] = [];

  constructor(
    readonly transport: TransportKind = "websocket",
    readonly remoteAddress = "127.0.0.1",
  ) {}

  send(frame: string): void {
    if (this.closedWith) return;
    const parsed = JSON.parse(frame) as ServerFrame;
    this.sent.push(parsed);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pred(parsed)) return true;
      w.resolve(parsed);
      return false;
    });
  }

  close(code: number, reason: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    queueMicrotask(() => this.link?.closed());
  }

  /** Send a frame to the hub. */
  push(frame: ClientFrame | string): void {
    this.link.receive(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Resolve with the first frame (already sent or future) matching `pred`, or reject after 2 s. */
  next<T extends ServerFrame = ServerFrame>(pred: (f: ServerFrame) => boolean): Promise<T> {
    const seen = this.sent.find(pred);
    if (seen) return Promise.resolve(seen as T);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("No matching frame within 2 s: " + JSON.stringify(this.sent))),
        2000,
      );
      this.#waiters.push({
        pred,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f as T);
        },
      });
    });
  }

  /** The reply to request `id`. */
  reply(id: number) {
    return this.next<ServerFrame & { type: "reply" | "connected" }>((f) =>
      (f.type === "reply" || f.type === "connected") && f.id === id
    );
  }

  pubs(channel?: string) {
    return this.sent.filter((f) => f.type === "pub" && (!channel || f.channel === channel)) as (
      ServerFrame & { type: "pub" }
    )[];
  }
}

/** Options for {@linkcode makeHub}. */
export interface TestHubOptions {
  limits?: Partial<HubLimits>;
  timing?: Partial<SessionTiming>;
  namespaces?: Record<string, Partial<NamespaceOptions>>;
  defaults?: Partial<NamespaceOptions>;
  authenticator?: Authenticator;
}

/** A started hub on a memory broker and a manual clock. */
export async function makeHub(options: TestHubOptions = {}) {
  const clock = new ManualClock();
  const broker = new MemoryBroker({ now: () => clock.now() });
  const named: Record<string, NamespaceOptions> = {};
  for (const [k, v] of Object.entries(options.namespaces ?? {})) {
    named[k] = { ...DEFAULT_NAMESPACE, ...v };
  }
  const hub = new Hub({
    broker,
    presence: broker,
    authenticator: options.authenticator ?? ANONYMOUS,
    namespaces: new Namespaces({ ...DEFAULT_NAMESPACE, ...options.defaults }, named),
    limits: {
      maxMessageBytes: 65536,
      maxChannelsPerSession: 128,
      maxConnections: 1000,
      maxConnectionsPerIp: 1000,
      publishRate: 0,
      publishBurst: 1,
      maxSendBufferBytes: 1 << 20,
      ...options.limits,
    },
    session: {
      graceMs: 30_000,
      pingIntervalMs: 5_000,
      pingTimeoutMs: 4_000,
      dedupeWindow: 1024,
      ...options.timing,
    },
    clock,
  });
  await hub.start();
  const connect = async (
    frame: Partial<ClientFrame & { type: "connect" }> = {},
    transport: TransportKind = "websocket",
    ip = "127.0.0.1",
  ) => {
    const conn = new FakeConnection(transport, ip);
    conn.link = hub.open(conn);
    conn.push({ type: "connect", id: 1, ...frame } as ClientFrame);
    const connected = await conn.next<ServerFrame & { type: "connected" }>((f) =>
      f.type === "connected" || f.type === "disconnect"
    );
    return { conn, connected };
  };
  return { hub, clock, broker, connect };
}
