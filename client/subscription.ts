/**
 * A subscription to one channel, as the application holds it.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { ClientInfo, StreamPosition, SubscribeResult } from "../src/core/protocol.ts";

/**
 * A publication delivered to the application.
 *
 * @example
 * ```ts
 * import { SwitchyardClient, type Publication } from "./mod.ts";
 * const client = new SwitchyardClient("http://localhost:4480");
 * client.on("publication", (pub: Publication) => console.log(pub.channel, pub.offset, pub.data));
 * ```
 */
export interface Publication extends StreamPosition {
  /** The channel it was published to. */
  channel: string;
  /** What the publisher sent. */
  data: unknown;
  /** Who published, when a client did. */
  info?: ClientInfo;
}

/**
 * What the application passes to `client.subscribe()`.
 *
 * @example
 * ```ts
 * import { SwitchyardClient, type SubscribeOptions } from "./mod.ts";
 * const options: SubscribeOptions = {
 *   onPublication: (pub) => console.log(pub.data),
 *   onRecovery: ({ recovered }) => console.log(recovered ? "caught up" : "refetch"),
 *   since: { offset: 41, epoch: "a1b2" },
 * };
 * new SwitchyardClient("http://localhost:4480").subscribe("chat:lobby", options);
 * ```
 */
export interface SubscribeOptions {
  /** Each publication, once, in offset order. */
  onPublication(pub: Publication): void;
  /** Somebody joined (namespaces with `join_leave`). */
  onJoin?(info: ClientInfo): void;
  /** Somebody left (namespaces with `join_leave`). */
  onLeave?(info: ClientInfo): void;
  /**
   * The outcome of each recovery: after every resume (`recovered: true` means
   * nothing was missed) and whenever publications may be missing
   * (`recovered: false`: refetch the state from the application).
   */
  onRecovery?(r: { recovered: boolean }): void;
  /** The server removed the subscription (refused on resubscribe, permission revoked…). */
  onUnsubscribed?(e: { code: string; reason: string }): void;
  /** Start after this position: the server replays what came later, or reports `recovered: false`. */
  since?: StreamPosition;
  /** Subscription token for a private channel. */
  token?: string;
}

/**
 * Internal state the client keeps for one subscription; the handle reads it.
 *
 * @example
 * ```ts
 * import { SubscriptionState } from "./subscription.ts";
 * const state = new SubscriptionState("news", { onPublication() {} }, () => Promise.resolve());
 * state.handle.channel; // "news"
 * ```
 */
export class SubscriptionState {
  readonly channel: string;
  readonly options: SubscribeOptions;
  /** Last accepted position (`since` until something arrives). */
  position: StreamPosition | null;
  /** Whether the last subscribe or connect that carried this channel sent `since`. */
  sentSince = false;
  status: "pending" | "active" | "removed" = "pending";
  readonly ready: Promise<SubscribeResult>;
  readonly handle: Subscription;
  #resolve!: (r: SubscribeResult) => void;
  #reject!: (e: Error) => void;

  constructor(
    channel: string,
    options: SubscribeOptions,
    unsubscribe: (state: SubscriptionState) => Promise<void>,
  ) {
    this.channel = channel;
    this.options = options;
    this.position = options.since ? { ...options.since } : null;
    this.ready = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // An application that never awaits `ready` must not get an unhandled rejection.
    this.ready.catch(() => {});
    this.handle = new Subscription(this, unsubscribe);
  }

  /** The server confirmed the subscription. */
  confirm(result: SubscribeResult): void {
    if (this.status !== "pending") return;
    this.status = "active";
    this.#resolve(result);
  }

  /** The subscription is over; a pending `ready` rejects with `err`. */
  end(err: Error): void {
    if (this.status === "pending") this.#reject(err);
    this.status = "removed";
  }
}

/**
 * The application's handle on a subscription.
 *
 * @example
 * ```ts
 * import { SwitchyardClient } from "./mod.ts";
 * const client = new SwitchyardClient("http://localhost:4480");
 * const sub = client.subscribe("chat:lobby", { onPublication: (pub) => console.log(pub.data) });
 * await sub.ready;
 * console.log(sub.position); // { offset, epoch } of the last publication seen
 * await sub.unsubscribe();
 * ```
 */
export class Subscription {
  #state: SubscriptionState;
  #unsubscribe: (state: SubscriptionState) => Promise<void>;

  /** Created by `client.subscribe()`; not meant to be constructed directly. */
  constructor(state: SubscriptionState, unsubscribe: (state: SubscriptionState) => Promise<void>) {
    this.#state = state;
    this.#unsubscribe = unsubscribe;
  }

  /** The channel name. */
  get channel(): string {
    return this.#state.channel;
  }

  /** Resolves with the server's answer to the first subscribe; rejects if it is refused. */
  get ready(): Promise<SubscribeResult> {
    return this.#state.ready;
  }

  /** Position of the last publication delivered (or the subscribe answer's), `null` before either. */
  get position(): StreamPosition | null {
    const p = this.#state.position;
    return p ? { ...p } : null;
  }

  /** `false` once unsubscribed or removed by the server. */
  get active(): boolean {
    return this.#state.status !== "removed";
  }

  /** Leave the channel. Resolves when the server confirmed it (at once while offline). */
  unsubscribe(): Promise<void> {
    return this.#unsubscribe(this.#state);
  }
}
