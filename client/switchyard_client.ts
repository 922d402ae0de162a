/**
 * The Switchyard client: one session over the best transport that works.
 *
 * This module is browser compatible.
 *
 * @module
 */

import {
  channelName,
  type ClientInfo,
  type ConnectedFrame,
  type ConnectFrame,
  type ReplyFrame,
  type ServerFrame,
  type StreamPosition,
  type SubscribeResult,
} from "../src/core/protocol.ts";
import { closedError, SwitchyardClientError } from "./client_error.ts";
import { type ClientMetrics, MetricsRecorder, utf8Length } from "./client_metrics.ts";
import {
  type ClientEvents,
  type ClientOptions,
  type ClientState,
  type ResolvedOptions,
  resolveOptions,
} from "./client_options.ts";
import { Connector } from "./connector.ts";
import { Emitter, type Listener } from "./emitter.ts";
import type { Link } from "./link.ts";
import { Outbox, type OutboxEntry, type RequestFrame } from "./outbox.ts";
import type { SubscribeOptions, Subscription, SubscriptionState } from "./subscription.ts";
import { Subscriptions } from "./subscriptions.ts";
import type { TransportKind } from "./transport.ts";

/**
 * A client of a Switchyard server. Connects on first use (or `connect()`),
 * picks the best transport that works, survives drops and transport switches
 * without losing or duplicating a message.
 *
 * @example
 * ```ts
 * import { SwitchyardClient } from "./mod.ts";
 * const client = new SwitchyardClient("http://localhost:4480");
 * const sub = client.subscribe("chat:lobby", {
 *   onPublication: (pub) => console.log(pub.offset, pub.data),
 *   onRecovery: ({ recovered }) => {
 *     if (!recovered) console.log("refetch the history");
 *   },
 * });
 * await sub.ready;
 * await client.publish("chat:lobby", { text: "hello" });
 * console.log(client.transport, client.metrics().rttMs);
 * await client.close();
 * ```
 */
export class SwitchyardClient {
  readonly #o: ResolvedOptions;
  readonly #events = new Emitter<ClientEvents>();
  readonly #metrics = new MetricsRecorder();
  readonly #outbox = new Outbox();
  readonly #subs: Subscriptions;
  readonly #conn: Connector;
  #session: { session: string; key: string } | null = null;
  #final = false;

  /**
   * Create a client; nothing connects until the first `connect()`, `subscribe()` or request.
   *
   * @param url The server's base URL (`http(s)://host:port`); the bootstrap is fetched from it.
   * @param options See {@linkcode ClientOptions}.
   */
  constructor(url: string, options: ClientOptions = {}) {
    this.#o = resolveOptions(options);
    this.#subs = new Subscriptions({
      publication: (pub) => this.#events.emit("publication", pub),
      recovery: (e) => this.#events.emit("recovery", e),
    });
    this.#conn = new Connector({
      url,
      options: this.#o,
      events: this.#events,
      metrics: this.#metrics,
      host: {
        connectFrame: (link, token) => this.#connectFrame(link, token),
        installed: (link, frame) => this.#installed(link, frame),
        frame: (link, frame) => this.#frame(link, frame),
        resumed: () => {
          this.#reconcile();
          this.#flush();
        },
        stopped: (err) => {
          this.#outbox.rejectAll(err);
          this.#subs.clear(err);
        },
        refresh: (token) =>
          this.#request({ type: "refresh", token }) as Promise<{ expires?: number } | undefined>,
      },
    });
  }

  /** The transport in use, `null` while not connected. */
  get transport(): TransportKind | null {
    return this.#conn.active?.kind ?? null;
  }

  /** Where the client is; see {@linkcode ClientState}. */
  get state(): ClientState {
    return this.#conn.state;
  }

  /** The session id from the last `connected`, `null` before one. */
  get session(): string | null {
    return this.#session?.session ?? null;
  }

  /** Listen to an event; see {@linkcode ClientEvents}. */
  on<K extends keyof ClientEvents & string>(event: K, fn: Listener<ClientEvents[K]>): void {
    this.#events.on(event, fn);
  }

  /** Stop listening. */
  off<K extends keyof ClientEvents & string>(event: K, fn: Listener<ClientEvents[K]>): void {
    this.#events.off(event, fn);
  }

  /** A copy of the counters, overall and per transport. */
  metrics(): ClientMetrics {
    return this.#metrics.snapshot();
  }

  /** Resolves once connected; rejects if the client closes or the server refuses it for good. */
  connect(): Promise<void> {
    return this.#conn.connect();
  }

  /**
   * Subscribe to `channel`. Publications arrive once each, in order, across
   * reconnects and transport switches.
   *
   * @throws {SwitchyardClientError} `ERR_ALREADY_SUBSCRIBED`, `ERR_BAD_CHANNEL`, `ERR_CLIENT_CLOSED`.
   */
  subscribe(channel: string, options: SubscribeOptions): Subscription {
    if (this.#final) throw closedError();
    try {
      channelName(channel);
    } catch (err) {
      throw new SwitchyardClientError("ERR_BAD_CHANNEL", (err as Error).message);
    }
    const state = this.#subs.add(channel, options, (s) => this.#unsubscribe(s));
    this.#conn.ensureRunning();
    this.#reconcile();
    return state.handle;
  }

  /** Publish `data` to `channel`; resolves with its stream position once the server applied it. */
  publish(channel: string, data: unknown): Promise<StreamPosition> {
    return this.#request({ type: "publish", channel, data }) as Promise<StreamPosition>;
  }

  /** Call a server RPC method; resolves with its result. */
  rpc(method: string, data?: unknown): Promise<unknown> {
    return this.#request(
      data === undefined ? { type: "rpc", method } : { type: "rpc", method, data },
    );
  }

  /** Who is in `channel` (namespaces with `presence`), by client id. */
  presence(channel: string): Promise<Record<string, ClientInfo>> {
    return this.#request({ type: "presence", channel }) as Promise<Record<string, ClientInfo>>;
  }

  /**
   * Move the session to exactly `kind` now, without loss, and stay there (no
   * automatic upgrades, reconnects use only `kind`). `null` goes back to
   * automatic. Rejects, keeping the previous choice, when `kind` cannot connect.
   */
  forceTransport(kind: TransportKind | null): Promise<void> {
    return this.#conn.forceTransport(kind);
  }

  /** Kill the current transport connection abruptly (a simulated network drop); the client resumes. */
  dropTransport(): void {
    this.#conn.drop();
  }

  /** End the session for good: tells the server (`close`), rejects pending requests. */
  async close(): Promise<void> {
    this.#final = true;
    await this.#conn.close();
  }

  // ---- connection hooks ---------------------------------------------------------

  #connectFrame(link: Link, token: string | undefined): string {
    const snapshot = this.#subs.snapshot();
    link.snapshot = snapshot;
    link.connectId = this.#outbox.allocateId();
    const frame: ConnectFrame = { type: "connect", id: link.connectId, subs: snapshot.subs };
    if (token !== undefined) frame.token = token;
    if (this.#session) frame.resume = { ...this.#session };
    frame.client = this.#o.name;
    return JSON.stringify(frame);
  }

  #installed(link: Link, frame: ConnectedFrame): void {
    this.#session = { session: frame.session, key: frame.key };
    this.#subs.installed(link.snapshot!, frame.subs ?? {});
    // The connect frame carried the wanted channels and the current token: in-flight
    // subscribe/unsubscribe/refresh requests are answered by it.
    for (const e of this.#outbox.remove((e) => !e.resend)) e.resolve(undefined);
    this.#reconcile();
    this.#flush();
  }

  #frame(_link: Link, frame: ServerFrame): void {
    switch (frame.type) {
      case "reply":
        return this.#reply(frame);
      case "pub":
        return this.#subs.publication(frame);
      case "join":
      case "leave":
        return this.#subs.joinLeave(frame);
      case "unsubscribed": {
        const err = new SwitchyardClientError(
          frame.code,
          `Unsubscribed from "${frame.channel}": ${frame.reason}`,
        );
        if (this.#subs.unsubscribed(frame.channel, err)) this.#events.emit("error", err);
      }
    }
  }

  #reply(frame: ReplyFrame): void {
    const entry = this.#outbox.take(frame.id);
    if (!entry) return;
    const state = entry.context as SubscriptionState | undefined;
    if (frame.error) {
      const err = new SwitchyardClientError(frame.error.code, frame.error.message);
      if (entry.kind === "subscribe") this.#subs.refusedRequest(state!, err);
      if (entry.kind === "unsubscribe") entry.resolve(undefined);
      else entry.reject(err);
      return;
    }
    if (entry.kind === "subscribe") this.#subs.answered(state!, frame.result as SubscribeResult);
    entry.resolve(frame.result);
  }

  // ---- requests -----------------------------------------------------------------

  #request(frame: RequestFrame, context?: unknown): Promise<unknown> {
    if (this.#final) return Promise.reject(closedError());
    const max = this.#conn.maxMessageBytes ?? Infinity;
    let added;
    try {
      added = this.#outbox.add(frame, context, max);
    } catch {
      // The server would close the whole session for it (ERR_MESSAGE_TOO_LARGE).
      return Promise.reject(
        new SwitchyardClientError(
          "ERR_MESSAGE_TOO_LARGE",
          `Cannot send ${frame.type}: its frame is over the server's limit of ${max} bytes`,
        ),
      );
    }
    const { entry, promise } = added;
    const link = this.#conn.ready();
    if (link) this.#sendEntry(link, entry);
    this.#conn.ensureRunning();
    return promise;
  }

  #sendEntry(link: Link, entry: OutboxEntry): void {
    const max = this.#conn.maxMessageBytes;
    const size = utf8Length(entry.text);
    if (max !== undefined && size > max) {
      // The server would close the whole session for it (ERR_MESSAGE_TOO_LARGE).
      this.#outbox.take(entry.id);
      entry.reject(
        new SwitchyardClientError(
          "ERR_MESSAGE_TOO_LARGE",
          `Cannot send ${entry.kind}: ${size} bytes is over the server's limit of ${max}`,
        ),
      );
      return;
    }
    entry.sentOn = link;
    this.#conn.send(link, entry.text);
  }

  /** Resend every outstanding publish/rpc/presence not yet sent on the current link, in seq order. */
  #flush(): void {
    const link = this.#conn.ready();
    if (!link) return;
    for (const entry of this.#outbox.unsentOn(link)) this.#sendEntry(link, entry);
  }

  /** Send the subscribe/unsubscribe requests that bring the server to the wanted set. */
  #reconcile(): Map<string, Promise<unknown>> {
    const sent = new Map<string, Promise<unknown>>();
    if (!this.#conn.ready()) return sent;
    const plan = this.#subs.plan();
    for (const channel of plan.unsubscribe) {
      const request = this.#request({ type: "unsubscribe", channel });
      // Only #unsubscribe() awaits these: one sent after a resume or a switch must not become an
      // unhandled rejection when the client closes meanwhile (found by the sync property test).
      request.catch(() => {});
      sent.set(channel, request);
    }
    for (const state of plan.subscribe) {
      this.#request({ type: "subscribe", ...this.#subs.request(state) }, state).catch(() => {});
    }
    return sent;
  }

  async #unsubscribe(state: SubscriptionState): Promise<void> {
    const err = new SwitchyardClientError(
      "ERR_NOT_SUBSCRIBED",
      `Unsubscribed from "${state.channel}"`,
    );
    if (!this.#subs.remove(state, err)) return;
    await this.#reconcile().get(state.channel)?.catch(() => {});
  }
}
