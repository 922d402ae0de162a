/**
 * Test harness: the real pure `Hub` (src/core) with an in-memory broker, reached
 * through fake in-process transports instead of sockets. Each fake connection
 * delivers frames asynchronously and in order per direction, and can be told to
 * fail, hang, stay mute, duplicate frames or delay them (so frames of two
 * connections interleave the way they do on a real network).
 *
 * Test-only: not part of the SDK. This module is browser compatible.
 *
 * @module
 */

import {
  ANONYMOUS,
  type Authenticator,
  type Connection,
  DEFAULT_LIMITS,
  DEFAULT_NAMESPACE,
  Hub,
  type Link as HubLink,
  Namespaces,
  SwitchyardError,
} from "../src/core/mod.ts";
import { MemoryBroker } from "../src/broker/memory/memory_broker.ts";
import type { Bootstrap } from "./bootstrap.ts";
import type { ClientTransport, TransportKind, TransportOpener } from "./transport.ts";

/** How a fake transport kind behaves when opened. */
export type FakeBehaviour =
  /** Opens and reaches the hub. */
  | "ok"
  /** `open` rejects after a tick (blocked port, no HTTP/3). */
  | "refuse"
  /** `open` never settles (a black-holed UDP path). */
  | "hang"
  /** Opens but nothing ever reaches the hub (a proxy that swallows frames). */
  | "mute";

/** Options of {@linkcode Loopback}. */
export interface LoopbackOptions {
  graceMs?: number;
  pingMs?: number;
  pingTimeoutMs?: number;
  authenticator?: Authenticator;
  /** Upper bound of the random extra delay per frame (ms); 0 = next tick. */
  maxDelayMs?: number;
  /** Probability that a server→client `pub` or client→server `publish`/`rpc` is delivered twice. */
  duplicateRate?: number;
  /** Seeded random source for delays and duplicates. */
  random?: () => number;
}

/** A seeded PRNG (mulberry32) so failures replay. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One direction of a fake connection: ordered, asynchronous, optionally delayed. */
class Pipe {
  #queue: { at: number; run: () => void }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #last = 0;
  /** Extra delay per frame (ms); tests may replace it per connection. */
  delay: () => number;
  closed = false;

  constructor(delay: () => number) {
    this.delay = delay;
  }

  push(run: () => void): void {
    if (this.closed) return;
    // Never earlier than the frame before it: per-connection order is kept.
    const at = Math.max(this.#last, Date.now() + this.delay());
    this.#last = at;
    this.#queue.push({ at, run });
    this.#arm();
  }

  #arm(): void {
    if (this.#timer !== undefined || this.#queue.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = Date.now();
      while (this.#queue.length > 0 && this.#queue[0].at <= now) this.#queue.shift()!.run();
      this.#arm();
    }, Math.max(0, this.#queue[0].at - Date.now()));
  }

  /** Stop delivering; frames queued are dropped. */
  cut(): void {
    this.closed = true;
    this.#queue = [];
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** A fake connection as both the hub and the client see it. */
export class FakeConnection {
  readonly kind: TransportKind;
  readonly toClient: Pipe;
  readonly toServer: Pipe;
  hubLink: HubLink | null = null;
  open = true;
  /** Frames the client sent on this connection. */
  readonly sent: string[] = [];
  #onClose: (code: number, reason: string) => void;

  constructor(
    kind: TransportKind,
    delay: () => number,
    onClose: (code: number, reason: string) => void,
  ) {
    this.kind = kind;
    this.toClient = new Pipe(delay);
    this.toServer = new Pipe(delay);
    this.#onClose = onClose;
  }

  /** The network fails: both ends learn it (the client with 1006), nothing more is delivered. */
  drop(): void {
    if (!this.open) return;
    this.open = false;
    this.toServer.cut();
    this.toClient.cut();
    this.hubLink?.closed();
    this.#onClose(1006, "network dropped");
  }

  /** Frames stop flowing both ways and nobody is told (a dead NAT binding). */
  blackhole(): void {
    this.toServer.cut();
    this.toClient.cut();
  }

  /** The server closed it: the client learns `code` after the frames already queued. */
  serverClose(code: number, reason: string): void {
    if (!this.open) return;
    this.open = false;
    this.toServer.cut();
    this.toClient.push(() => this.#onClose(code, reason));
    this.toClient.closed = true;
    this.hubLink?.closed();
  }

  /** The client closed it. */
  clientClose(): void {
    if (!this.open) return;
    this.open = false;
    this.toClient.cut();
    this.toServer.push(() => this.hubLink?.closed());
    this.toServer.closed = true;
  }
}

/**
 * A hub plus a transport factory for the client.
 *
 * @example
 * ```ts
 * import { Loopback } from "./_hub_loopback.ts";
 * const lb = new Loopback();
 * await lb.start();
 * // new SwitchyardClient("http://test", { bootstrap: lb.bootstrap, _transportFactory: lb.opener, storage: null })
 * await lb.stop();
 * ```
 */
export class Loopback {
  readonly hub: Hub;
  readonly broker = new MemoryBroker();
  readonly behaviour: Record<TransportKind, FakeBehaviour> = {
    webtransport: "ok",
    websocket: "ok",
    sse: "ok",
  };
  readonly connections = new Set<FakeConnection>();
  readonly bootstrap: Bootstrap = {
    version: "test",
    maxMessageBytes: DEFAULT_LIMITS.maxMessageBytes,
    transports: {
      webtransport: { url: "https://test/switchyard/wt", certificateHashes: [] },
      websocket: { url: "ws://test/switchyard/ws" },
      sse: { url: "http://test/switchyard/sse" },
    },
  };
  /** Client→server frames the hub received, per kind of frame. */
  readonly received: string[] = [];
  duplicateRate: number;
  maxDelayMs: number;
  #random: () => number;
  #hangs = new Set<() => void>();

  constructor(options: LoopbackOptions = {}) {
    this.#random = options.random ?? Math.random;
    this.duplicateRate = options.duplicateRate ?? 0;
    this.maxDelayMs = options.maxDelayMs ?? 0;
    const historical = {
      ...DEFAULT_NAMESPACE,
      historySize: 10_000,
      presence: true,
      joinLeave: true,
    };
    this.hub = new Hub({
      broker: this.broker,
      presence: this.broker,
      authenticator: options.authenticator ?? ANONYMOUS,
      namespaces: new Namespaces(DEFAULT_NAMESPACE, { h: historical }),
      limits: DEFAULT_LIMITS,
      session: {
        graceMs: options.graceMs ?? 30_000,
        pingIntervalMs: options.pingMs ?? 5_000,
        pingTimeoutMs: options.pingTimeoutMs ?? 4_000,
        dedupeWindow: 1024,
      },
    });
  }

  start(): Promise<void> {
    return this.hub.start();
  }

  /** Drop every connection, then shut the hub down. */
  async stop(): Promise<void> {
    for (const c of this.connections) c.drop();
    for (const release of this.#hangs) release();
    await this.hub.shutdown();
  }

  /** Live connections of one kind (or all). */
  live(kind?: TransportKind): FakeConnection[] {
    return [...this.connections].filter((c) => c.open && (!kind || c.kind === kind));
  }

  #delay = (): number => this.maxDelayMs > 0 ? Math.floor(this.#random() * this.maxDelayMs) : 0;

  /** The `_transportFactory` for the client. */
  readonly opener: TransportOpener = (kind, options) => {
    const behaviour = this.behaviour[kind];
    const { signal } = options;
    if (behaviour === "refuse") {
      return new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`${kind} refused (test)`)), 1)
      );
    }
    if (behaviour === "hang") {
      return new Promise((_, reject) => {
        const release = () => {
          this.#hangs.delete(release);
          reject(signal.reason ?? new Error("hang released"));
        };
        this.#hangs.add(release);
        signal.addEventListener("abort", release, { once: true });
      });
    }
    const conn = new FakeConnection(kind, this.#delay, (code, reason) => {
      this.connections.delete(conn);
      options.onClose(code, reason);
    });
    this.connections.add(conn);
    if (behaviour === "ok") {
      const hubConn: Connection = {
        transport: kind,
        remoteAddress: "127.0.0.1",
        bufferedAmount: 0,
        send: (frame) => {
          if (!conn.open) return;
          const copies = frame.startsWith('{"type":"pub"') && this.#random() < this.duplicateRate
            ? 2
            : 1;
          for (let i = 0; i < copies; i++) conn.toClient.push(() => options.onFrame(frame));
        },
        close: (code, reason) => conn.serverClose(code, reason),
      };
      conn.hubLink = this.hub.open(hubConn);
    }
    const transport: ClientTransport = {
      kind,
      send: (frame) => {
        if (!conn.open) return;
        conn.sent.push(frame);
        if (behaviour === "mute") return;
        const dup = /^\{"type":"(publish|rpc)"/.test(frame) && this.#random() < this.duplicateRate;
        for (let i = 0; i < (dup ? 2 : 1); i++) {
          conn.toServer.push(() => {
            this.received.push(frame);
            conn.hubLink?.receive(frame);
          });
        }
      },
      close: () => {
        this.connections.delete(conn);
        conn.clientClose();
      },
    };
    return new Promise((resolve) => setTimeout(() => resolve(transport), 0));
  };
}

/** An authenticator for token tests: "good" → user "u"; "expired", "bad" and "soon" as named. */
export function testAuthenticator(expiresAt?: () => number): Authenticator {
  return {
    connect(token) {
      if (token === "bad") {
        return Promise.reject(new SwitchyardError("ERR_UNAUTHORIZED", "Bad token (test)"));
      }
      if (token === "expired") {
        return Promise.reject(new SwitchyardError("ERR_TOKEN_EXPIRED", "Expired (test)"));
      }
      return Promise.resolve({
        user: "u",
        channels: [],
        expiresAt: token === "soon" ? expiresAt?.() : undefined,
      });
    },
    subscribe: () => Promise.reject(new SwitchyardError("ERR_FORBIDDEN", "No (test)")),
  };
}
