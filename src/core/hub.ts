/**
 * The hub: sessions, channels, permissions and fan-out. Transports feed it
 * frames through {@linkcode Link}s; services use its public methods.
 *
 * This module is browser compatible (no I/O: the broker, the authenticator and
 * the clock are handed in).
 *
 * @module
 */

import type { Authenticator } from "./authenticator.ts";
import type { Broker, HistoryResult, PresenceStore, Publication } from "./broker.ts";
import type { Connection, Link, TransportKind } from "./connection.ts";
import { closeCodeOf, type ErrorCode, SwitchyardError, toProtocolError } from "./errors.ts";
import type { Namespaces } from "./namespaces.ts";
import {
  type ClientFrame,
  type ClientInfo,
  type ConnectFrame,
  decodeClientFrame,
  encodeFrame,
  type ServerFrame,
  type StreamPosition,
  type SubscribeResult,
} from "./protocol.ts";
import { type Attachment, claimSet, Session } from "./session.ts";
import { HubStats } from "./hub_stats.ts";
import { ChannelRegistry, PRESENCE_TTL_MS } from "./channel_registry.ts";
import { Requests } from "./requests.ts";

/** Limits a hub enforces. */
export interface HubLimits {
  maxMessageBytes: number;
  maxChannelsPerSession: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  publishRate: number;
  publishBurst: number;
  maxSendBufferBytes: number;
}

/** Session timing. */
export interface SessionTiming {
  graceMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  dedupeWindow: number;
}

/** Timers and clock; tests pass fakes. */
export interface Clock {
  now(): number;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

/** Structured log sink. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Receives timings for the metrics layer (not called on the fan-out path). */
export interface HubObserver {
  request?(type: string, seconds: number): void;
  /** A session (re)attached; `fallbacks` is what the client reported in `connect`. */
  connected?(transport: TransportKind, fallbacks: number, resumed: boolean): void;
}

/** Everything a hub is made of. */
export interface HubOptions {
  broker: Broker;
  presence: PresenceStore;
  authenticator: Authenticator;
  namespaces: Namespaces;
  limits: HubLimits;
  session: SessionTiming;
  clock?: Clock;
  log?: Logger;
  observer?: HubObserver;
}

/** Who calls an RPC method. */
export interface RpcContext {
  session: string;
  user: string;
  info?: unknown;
  /** The transport the call came over. */
  transport: TransportKind | null;
  /** The token's claims; `{}` for anonymous. */
  claims: Readonly<Record<string, unknown>>;
}

/** A server-side RPC method. Throw a `SwitchyardError` to reply with its code. */
export type RpcHandler = (data: unknown, ctx: RpcContext) => unknown | Promise<unknown>;

interface LinkState extends Attachment {
  session: Session | null;
  connecting: boolean;
  closed: boolean;
  openedAt: number;
  queue: Promise<void>;
}

const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (h) => clearInterval(h as number),
};

/** A connect whose authentication (e.g. a JWKS fetch) takes longer is refused. */
const CONNECT_TIMEOUT_MS = 30_000;

const SILENT: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * The hub.
 *
 * @example
 * ```ts
 * import { ANONYMOUS, DEFAULT_LIMITS, DEFAULT_NAMESPACE, DEFAULT_TIMING, Hub, Namespaces } from "./mod.ts";
 * import { MemoryBroker } from "../broker/memory/memory_broker.ts";
 * const broker = new MemoryBroker();
 * const hub = new Hub({ broker, presence: broker, authenticator: ANONYMOUS,
 *   namespaces: new Namespaces(DEFAULT_NAMESPACE), limits: DEFAULT_LIMITS, session: DEFAULT_TIMING });
 * await hub.start();
 * hub.rpc("time", () => Date.now());
 * await hub.publish("news", { title: "hello" });
 * ```
 */
export class Hub {
  readonly stats = new HubStats();
  #o: HubOptions;
  #clock: Clock;
  #log: Logger;
  #channels: ChannelRegistry;
  #requests: Requests;
  #sessions = new Map<string, Session>();
  /** Sessions that ended by expiry, kept so their client can carry its lineage to a new one. */
  #retired = new Map<string, { key: string; user: string; lineage: string; expires: number }>();
  #pending = new Set<LinkState>();
  #rpc = new Map<string, RpcHandler>();
  #perIp = new Map<string, number>();
  #links = 0;
  #ticker: unknown;
  #lastPresenceRefresh = 0;
  #lastRetiredSweep = 0;
  #stopping = false;

  constructor(options: HubOptions) {
    this.#o = options;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#log = options.log ?? SILENT;
    this.#channels = new ChannelRegistry({ ...options, log: this.#log });
    this.#requests = new Requests({
      options,
      channels: this.#channels,
      clock: this.#clock,
      log: this.#log,
      stats: this.stats,
      rpc: this.#rpc,
      sendTo: (session, frame) => this.#sendTo(session, frame),
      exclusive: (session, job) => this.#exclusive(session, job),
      destroy: (session) => this.#destroy(session, undefined),
      idempotencyTtl: () => this.#idempotencyTtl(),
    });
  }

  /** Start receiving from the broker and the liveness ticker. */
  async start(): Promise<void> {
    await this.#o.broker.start({
      publication: (channel, pub) => this.#fanOut(channel, pub),
      join: (channel, info) => this.#fanOutEvent("join", channel, info),
      leave: (channel, info) => this.#fanOutEvent("leave", channel, info),
    });
    const t = this.#o.session;
    const tick = Math.max(50, Math.min(1000, t.pingIntervalMs / 2, t.pingTimeoutMs / 2));
    this.#ticker = this.#clock.setInterval(() => this.#tick(), tick);
  }

  /** Number of live sessions (attached or in their grace period). */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Open transport connections. */
  get connectionCount(): number {
    return this.#links;
  }

  /** Subscriptions summed over sessions. */
  get subscriptionCount(): number {
    let n = 0;
    for (const s of this.#sessions.values()) n += s.subs.size;
    return n;
  }

  /** Attached sessions per transport. */
  sessionsByTransport(): Record<TransportKind, number> {
    const out = { webtransport: 0, websocket: 0, sse: 0 };
    for (const s of this.#sessions.values()) {
      const t = s.transport;
      if (t) out[t] += 1;
    }
    return out;
  }

  /** Take a new transport connection. Over a limit, it is closed at once with the limit's code. */
  open(conn: Connection): Link {
    const now = this.#clock.now();
    const state: LinkState = {
      conn,
      live: true,
      announced: false,
      lastReceived: now,
      lastPing: now,
      session: null,
      connecting: false,
      closed: false,
      openedAt: now,
      queue: Promise.resolve(),
    };
    const link: Link = {
      receive: (frame) => this.#receive(state, frame),
      closed: () => this.#linkClosed(state),
    };
    this.stats.connectionOpened(conn.transport);
    const { maxConnections, maxConnectionsPerIp } = this.#o.limits;
    const ip = conn.remoteAddress;
    const perIp = this.#perIp.get(ip) ?? 0;
    let refusal: SwitchyardError | undefined;
    if (this.#stopping) refusal = new SwitchyardError("ERR_SHUTDOWN");
    else if (this.#links >= maxConnections) {
      refusal = new SwitchyardError(
        "ERR_CONNECTION_LIMIT",
        `Connection refused: limit of ${maxConnections} connections reached (limits.max_connections)`,
      );
    } else if (perIp >= maxConnectionsPerIp) {
      refusal = new SwitchyardError(
        "ERR_CONNECTION_LIMIT",
        `Connection refused: limit of ${maxConnectionsPerIp} connections from ${ip} reached (limits.max_connections_per_ip)`,
      );
    }
    if (refusal) {
      state.closed = true;
      this.#refuse(conn, refusal);
      return link;
    }
    this.#links += 1;
    this.#perIp.set(ip, perIp + 1);
    this.#pending.add(state);
    return link;
  }

  /** Publish from the server (services). Skips client permissions, keeps history rules. */
  publish(
    channel: string,
    data: unknown,
    options: { info?: ClientInfo; idempotencyKey?: string } = {},
  ): Promise<Publication> {
    const ns = this.#o.namespaces.resolve(channel);
    return this.#o.broker.publish(channel, data, {
      history: { size: ns.historySize, ttlMs: ns.historyTtlMs },
      info: options.info,
      idempotencyKey: options.idempotencyKey,
      idempotencyTtlMs: this.#idempotencyTtl(),
    });
  }

  /** A channel's history after `since` (all kept history when omitted). */
  history(channel: string, options: { since?: StreamPosition; limit?: number } = {}) {
    const ns = this.#o.namespaces.resolve(channel);
    return this.#o.broker.history(channel, {
      since: options.since,
      limit: options.limit ?? ns.historySize,
    }) satisfies Promise<HistoryResult>;
  }

  /** Who is present in a channel, by client id. */
  presence(channel: string): Promise<Record<string, ClientInfo>> {
    return this.#o.presence.get(channel);
  }

  /** Register a server-side RPC method that clients call with `rpc`. */
  rpc(method: string, handler: RpcHandler): void {
    this.#rpc.set(method, handler);
  }

  /** Close every session of `user` with `code` (e.g. `ERR_BANNED`). Returns how many. */
  disconnectUser(user: string, code: ErrorCode = "ERR_SESSION_CLOSED"): number {
    let n = 0;
    for (const s of [...this.#sessions.values()]) {
      if (s.user === user) {
        this.#destroy(s, new SwitchyardError(code));
        n += 1;
      }
    }
    return n;
  }

  /** Stop taking connections and tell every client to reconnect elsewhere. */
  async shutdown(): Promise<void> {
    this.#stopping = true;
    this.#clock.clearInterval(this.#ticker);
    const err = new SwitchyardError("ERR_SHUTDOWN");
    for (const state of [...this.#pending]) this.#fail(state, err);
    for (const s of this.#sessions.values()) {
      const a = s.attachment as LinkState | null;
      if (a) this.#fail(a, err);
    }
    await this.#o.broker.close();
  }

  // ---- frames from transports ------------------------------------------------

  #receive(state: LinkState, text: string): void {
    if (state.closed || !state.live) return;
    const transport = state.conn.transport;
    this.stats.received(transport, text.length);
    state.lastReceived = this.#clock.now();
    const max = this.#o.limits.maxMessageBytes;
    // Transports check bytes before this; a string can only be over in bytes if 3 × its length is.
    if (text.length * 3 > max) {
      const bytes = text.length > max ? text.length : new TextEncoder().encode(text).length;
      if (bytes > max) {
        return this.#fail(
          state,
          new SwitchyardError(
            "ERR_MESSAGE_TOO_LARGE",
            `Frame of ${bytes} bytes is over limits.max_message_bytes (${max})`,
          ),
        );
      }
    }
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(text);
    } catch (err) {
      return this.#fail(state, err);
    }
    if (frame.type === "ping") {
      if (state.announced) state.conn.send('{"type":"pong"}');
      return;
    }
    if (frame.type === "pong") return;
    if (frame.type === "close" && state.session) {
      // Handled now: clients close the connection right after this frame.
      void this.#destroy(state.session, undefined);
      return;
    }
    if (frame.type === "connect") {
      if (state.connecting || state.session) {
        return this.#fail(
          state,
          new SwitchyardError("ERR_BAD_FRAME", "Malformed frame: a second connect"),
        );
      }
      state.connecting = true;
      this.#enqueue(state, () => this.#connect(state, frame));
      return;
    }
    if (!state.connecting && !state.session) {
      return this.#fail(
        state,
        new SwitchyardError(
          "ERR_NOT_CONNECTED",
          `The first frame must be "connect", got "${frame.type}"`,
        ),
      );
    }
    this.#enqueue(state, () => this.#handle(state, frame));
  }

  #enqueue(state: LinkState, job: () => Promise<void>): void {
    state.queue = state.queue.then(job).catch((err) => {
      this.#log.error("Frame handling failed", { error: String(err?.stack ?? err) });
      this.#fail(state, err);
    });
  }

  async #connect(state: LinkState, frame: ConnectFrame): Promise<void> {
    const started = this.#clock.now();
    let creds;
    try {
      creds = await this.#o.authenticator.connect(frame.token);
    } catch (err) {
      return this.#fail(state, err);
    }
    if (state.closed) return;
    const now = this.#clock.now();
    let session: Session | undefined;
    let lineage: string | undefined;
    if (frame.resume) {
      const { session: id, key } = frame.resume;
      const old = this.#sessions.get(id);
      if (old && !old.closed && old.user === creds.user && sameSecret(old.key, key)) {
        session = old;
        const prev = old.attachment as LinkState | null;
        if (prev && prev !== state) {
          if (prev.conn.transport !== state.conn.transport) this.stats.transportSwitches += 1;
          this.#fail(prev, new SwitchyardError("ERR_TRANSPORT_REPLACED"));
        }
      } else {
        // An expired session's lineage carries over only to the client that holds its key.
        const gone = this.#retired.get(id);
        if (gone && gone.user === creds.user && sameSecret(gone.key, key)) lineage = gone.lineage;
      }
    }
    const resumed = session !== undefined;
    if (!session) {
      const id = randomId();
      session = new Session({
        id,
        key: randomId(24),
        user: creds.user,
        client: frame.client ?? "",
        lineage: lineage ?? id,
        expiresAt: creds.expiresAt,
        channelsClaim: creds.channels,
        info: creds.info,
        claims: creds.claims,
        dedupeWindow: this.#o.session.dedupeWindow,
        publishRate: this.#o.limits.publishRate,
        publishBurst: this.#o.limits.publishBurst,
        now,
      });
      this.#sessions.set(session.id, session);
    } else {
      session.expiresAt = creds.expiresAt;
      session.channelsClaim = claimSet(creds.channels);
      session.claims = creds.claims ?? {};
    }
    this.#pending.delete(state);
    state.session = session;
    // One (re)attach or subscription change of a session at a time: a connect that a newer one
    // replaced stops at its next step instead of racing it.
    const s = session;
    await this.#exclusive(s, () => this.#attach(state, s, frame, resumed, started));
  }

  /** Run `job` after the session's earlier exclusive jobs. */
  #exclusive(session: Session, job: () => Promise<void>): Promise<void> {
    const run = session.lock.then(job);
    session.lock = run.catch(() => {});
    return run;
  }

  async #attach(
    state: LinkState,
    session: Session,
    frame: ConnectFrame,
    resumed: boolean,
    started: number,
  ): Promise<void> {
    if (!state.live || session.closed) return;
    const now = this.#clock.now();
    state.lastReceived = now;
    // Spread pings over the interval, so sessions that connected together are not pinged together.
    state.lastPing = now - Math.floor(Math.random() * this.#o.session.pingIntervalMs);
    session.attachment = state;
    if (resumed) this.stats.sessionsResumed += 1;
    // Nothing may reach the client before "connected": hold every kept channel until recovered.
    for (const sub of session.subs.values()) sub.pending ??= [];
    const gone = () => !state.live || session.closed;

    const requests = frame.subs ?? {};
    for (const channel of [...session.subs.keys()]) {
      if (!(channel in requests)) await this.#channels.remove(session, channel);
      if (gone()) return;
    }
    const results: Record<string, SubscribeResult> = {};
    const replays: [string, Publication[]][] = [];
    const refused: ServerFrame[] = [];
    for (const [channel, req] of Object.entries(requests)) {
      const kept = session.subs.has(channel);
      try {
        const ns = kept
          ? this.#o.namespaces.resolve(channel)
          : await this.#channels.authorize(session, channel, req.token);
        if (!kept) await this.#channels.add(session, channel, ns);
        const { result, replay } = await this.#channels.recover(session, channel, ns, req.since);
        results[channel] = result;
        replays.push([channel, replay]);
      } catch (err) {
        if (!kept) await this.#channels.remove(session, channel).catch(() => {});
        const e = toProtocolError(err);
        refused.push({ type: "unsubscribed", channel, code: e.code, reason: e.message });
      }
      if (gone()) return;
    }
    const connected: ServerFrame = {
      type: "connected",
      id: frame.id,
      session: session.id,
      key: session.key,
      lineage: session.lineage,
      resumed,
      ping: this.#o.session.pingIntervalMs,
      pingTimeout: this.#o.session.pingTimeoutMs,
      seq: session.applied.floor,
      subs: results,
      user: session.user,
    };
    if (session.expiresAt !== undefined) connected.expires = session.expiresAt;
    state.announced = true;
    this.#sendTo(session, connected);
    for (const f of refused) this.#sendTo(session, f);
    for (const [channel, replay] of replays) {
      this.stats.sent(state.conn.transport, session.finishRecovery(channel, replay));
    }
    this.#o.observer?.request?.("connect", (this.#clock.now() - started) / 1000);
    this.#o.observer?.connected?.(state.conn.transport, frame.fallbacks ?? 0, resumed);
  }

  #handle(state: LinkState, frame: ClientFrame): Promise<void> {
    return this.#requests.handle(state, frame);
  }

  /** How long publishes stay deduplicated by (user, lineage, seq). */
  #idempotencyTtl(): number {
    return Math.max(60_000, this.#o.session.graceMs * 4);
  }

  // ---- fan-out -----------------------------------------------------------------

  #fanOut(channel: string, pub: Publication): void {
    const members = this.#channels.members(channel);
    if (!members) return;
    const frame = encodeFrame({ type: "pub", channel, ...pub });
    const maxBuffer = this.#o.limits.maxSendBufferBytes;
    // Reading a socket's buffered amount is a call into the runtime: once every 16 publications
    // of a channel is enough to catch a slow reader.
    const checkBuffers = (pub.offset & 15) === 0;
    for (const session of members) {
      const a = session.attachment as LinkState | null;
      if (checkBuffers && a && a.conn.bufferedAmount > maxBuffer) {
        this.#fail(
          a,
          new SwitchyardError(
            "ERR_SLOW_CONSUMER",
            `Send buffer over ${maxBuffer} bytes (limits.max_send_buffer_bytes)`,
          ),
        );
        continue;
      }
      const bytes = session.deliver(channel, pub, frame);
      if (bytes > 0) this.stats.sent(a!.conn.transport, bytes);
    }
  }

  #fanOutEvent(type: "join" | "leave", channel: string, info: ClientInfo): void {
    const members = this.#channels.members(channel);
    if (!members) return;
    const frame = encodeFrame({ type, channel, info });
    for (const session of members) session.sendText(frame);
  }

  // ---- lifecycle ---------------------------------------------------------------

  #sendTo(session: Session, frame: ServerFrame): void {
    const a = session.attachment;
    if (!a) return;
    this.stats.sent(a.conn.transport, session.send(frame));
  }

  #tick(): void {
    const now = this.#clock.now();
    const { pingIntervalMs, pingTimeoutMs, graceMs } = this.#o.session;
    for (const state of this.#pending) {
      if (!state.connecting && now - state.openedAt > pingIntervalMs + pingTimeoutMs) {
        this.#fail(
          state,
          new SwitchyardError(
            "ERR_PING_TIMEOUT",
            `No connect frame within ${pingIntervalMs + pingTimeoutMs} ms`,
          ),
        );
      } else if (state.connecting && now - state.openedAt > CONNECT_TIMEOUT_MS) {
        this.#fail(
          state,
          new SwitchyardError(
            "ERR_UNAVAILABLE",
            `Authentication did not finish within ${CONNECT_TIMEOUT_MS / 1000} s: retry later`,
          ),
        );
      }
    }
    if (now - this.#lastRetiredSweep > 10_000) {
      this.#lastRetiredSweep = now;
      for (const [id, gone] of this.#retired) if (gone.expires <= now) this.#retired.delete(id);
    }
    const refreshPresence = now - this.#lastPresenceRefresh > PRESENCE_TTL_MS / 3;
    if (refreshPresence) this.#lastPresenceRefresh = now;
    for (const session of [...this.#sessions.values()]) {
      const a = session.attachment as LinkState | null;
      if (a) {
        if (now - a.lastReceived > pingIntervalMs + pingTimeoutMs) {
          this.#fail(
            a,
            new SwitchyardError(
              "ERR_PING_TIMEOUT",
              `No frame for ${now - a.lastReceived} ms (ping timeout)`,
            ),
          );
        } else if (session.expiresAt !== undefined && now > session.expiresAt) {
          this.#fail(a, new SwitchyardError("ERR_TOKEN_EXPIRED"));
        } else if (now - a.lastPing >= pingIntervalMs) {
          a.lastPing = now;
          this.stats.sent(a.conn.transport, session.sendText('{"type":"ping"}'));
        }
      } else if (now - session.detachedAt > graceMs) {
        this.#retired.set(session.id, {
          key: session.key,
          user: session.user,
          lineage: session.lineage,
          expires: now + this.#idempotencyTtl(),
        });
        this.#destroy(session, undefined);
        continue;
      }
      if (refreshPresence) this.#channels.refreshPresence(session);
    }
  }

  async #destroy(session: Session, err: SwitchyardError | undefined): Promise<void> {
    if (session.closed) return;
    session.closed = true;
    this.#sessions.delete(session.id);
    const a = session.attachment as LinkState | null;
    if (a) {
      if (err) this.#fail(a, err);
      else {
        a.live = false;
        a.conn.close(1000, "session closed");
      }
    }
    session.attachment = null;
    for (const channel of [...session.subs.keys()]) {
      await this.#channels.remove(session, channel).catch((e) =>
        this.#log.warn("Unsubscribe on close failed", { channel, error: String(e) })
      );
    }
  }

  #linkClosed(state: LinkState): void {
    if (state.closed) return;
    state.closed = true;
    this.#pending.delete(state);
    this.#links -= 1;
    const ip = state.conn.remoteAddress;
    const n = (this.#perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.#perIp.delete(ip);
    else this.#perIp.set(ip, n);
    this.stats.connectionClosed(state.conn.transport);
    const session = state.session;
    if (session && session.attachment === state) {
      session.attachment = null;
      session.detachedAt = this.#clock.now();
    }
    state.live = false;
  }

  /** Tell the client why, close the connection and detach its session (which keeps its grace). */
  #fail(state: LinkState, err: unknown): void {
    if (!state.live) return;
    const e = toProtocolError(err);
    this.stats.error(e.code);
    const code = closeCodeOf(e.code) ?? 3006;
    state.conn.send(encodeFrame(disconnectFrame(code, e)));
    state.conn.close(code, truncate(e.message, 120));
    this.#linkClosed(state);
  }

  #refuse(conn: Connection, err: SwitchyardError): void {
    this.stats.error(err.code);
    const code = closeCodeOf(err.code) ?? 3006;
    conn.send(encodeFrame(disconnectFrame(code, err)));
    conn.close(code, truncate(err.message, 120));
    this.stats.connectionClosed(conn.transport);
  }
}

function disconnectFrame(code: number, e: SwitchyardError): ServerFrame {
  return {
    type: "disconnect",
    code,
    error: e.code,
    reason: e.message,
    reconnect: code < 3500,
  };
}

/** Truncate to at most `max` UTF-8 bytes' worth of characters (WebSocket close reasons are ≤123 bytes). */
function truncate(text: string, max: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= max) return text;
  return new TextDecoder().decode(bytes.slice(0, max)).replace(/\uFFFD$/, "");
}

function randomId(size = 12): string {
  const bytes = crypto.getRandomValues(new Uint8Array(size));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
