/**
 * The set of subscriptions the application wants, and what the server is
 * believed to have. Pure bookkeeping: the client sends what {@linkcode
 * Subscriptions.plan} says, and the `connect` frame carries
 * {@linkcode Subscriptions.snapshot}, which replaces the server's set.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type {
  JoinLeaveFrame,
  PublicationFrame,
  SubscribeRequest,
  SubscribeResult,
} from "../src/core/protocol.ts";
import { SwitchyardClientError } from "./client_error.ts";
import { report } from "./emitter.ts";
import { acceptPublication, applySubscribeResult } from "./positions.ts";
import { type Publication, type SubscribeOptions, SubscriptionState } from "./subscription.ts";

/**
 * Client-wide observers of what subscriptions receive.
 *
 * @example
 * ```ts
 * import { Subscriptions, type SubscriptionHooks } from "./subscriptions.ts";
 * const hooks: SubscriptionHooks = { publication: console.log, recovery: console.log };
 * new Subscriptions(hooks);
 * ```
 */
export interface SubscriptionHooks {
  publication(pub: Publication): void;
  recovery(e: { channel: string; recovered: boolean }): void;
}

/**
 * The channels a `connect` frame carried, with the state each one was for.
 *
 * @example
 * ```ts
 * import { Subscriptions, type SubscriptionSnapshot } from "./subscriptions.ts";
 * const snap: SubscriptionSnapshot = new Subscriptions({ publication() {}, recovery() {} }).snapshot();
 * console.log(snap.subs);
 * ```
 */
export interface SubscriptionSnapshot {
  subs: Record<string, SubscribeRequest>;
  states: Map<string, SubscriptionState>;
}

/**
 * Wanted subscriptions and the server's believed set.
 *
 * @example
 * ```ts
 * import { Subscriptions } from "./subscriptions.ts";
 * const subs = new Subscriptions({ publication() {}, recovery() {} });
 * subs.add("news", { onPublication: console.log }, () => Promise.resolve());
 * subs.plan(); // { subscribe: [state of "news"], unsubscribe: [] }
 * ```
 */
export class Subscriptions {
  #wanted = new Map<string, SubscriptionState>();
  #server = new Set<string>();
  #hooks: SubscriptionHooks;

  constructor(hooks: SubscriptionHooks) {
    this.#hooks = hooks;
  }

  /** Start wanting `channel`. @throws `ERR_ALREADY_SUBSCRIBED` if it is wanted already. */
  add(
    channel: string,
    options: SubscribeOptions,
    unsubscribe: (s: SubscriptionState) => Promise<void>,
  ): SubscriptionState {
    if (this.#wanted.has(channel)) {
      throw new SwitchyardClientError(
        "ERR_ALREADY_SUBSCRIBED",
        `Already subscribed to "${channel}": unsubscribe first`,
      );
    }
    const state = new SubscriptionState(channel, options, unsubscribe);
    this.#wanted.set(channel, state);
    return state;
  }

  /** Stop wanting `state`'s channel (if `state` is still the current one). */
  remove(state: SubscriptionState, err: Error): boolean {
    if (this.#wanted.get(state.channel) !== state) return false;
    this.#wanted.delete(state.channel);
    state.end(err);
    return true;
  }

  /** The subscription wanted for `channel`. */
  get(channel: string): SubscriptionState | undefined {
    return this.#wanted.get(channel);
  }

  /** Every wanted subscription. */
  all(): SubscriptionState[] {
    return [...this.#wanted.values()];
  }

  /** What a `connect` frame should carry: every wanted channel from its last position. */
  snapshot(): SubscriptionSnapshot {
    const subs: Record<string, SubscribeRequest> = {};
    const states = new Map<string, SubscriptionState>();
    for (const [channel, state] of this.#wanted) {
      const req: SubscribeRequest = {};
      if (state.position) req.since = { ...state.position };
      if (state.options.token !== undefined) req.token = state.options.token;
      subs[channel] = req;
      states.set(channel, state);
    }
    return { subs, states };
  }

  /**
   * A `connected` answered the `connect` that carried `snapshot`: the server now
   * has exactly those channels; apply each result. A channel missing from
   * `results` was refused and an `unsubscribed` frame follows.
   */
  installed(snapshot: SubscriptionSnapshot, results: Record<string, SubscribeResult>): void {
    this.#server = new Set(snapshot.states.keys());
    for (const [channel, state] of snapshot.states) {
      state.sentSince = snapshot.subs[channel].since !== undefined;
      const result = results[channel];
      if (result && this.#wanted.get(channel) === state) this.answered(state, result);
    }
  }

  /**
   * What to send to bring the server to the wanted set; the server set is
   * updated as if it were sent. Subscribe requests should carry `since` from
   * {@linkcode Subscriptions.request}.
   */
  plan(): { subscribe: SubscriptionState[]; unsubscribe: string[] } {
    const subscribe: SubscriptionState[] = [];
    const unsubscribe: string[] = [];
    for (const [channel, state] of this.#wanted) {
      if (!this.#server.has(channel)) {
        subscribe.push(state);
        this.#server.add(channel);
      }
    }
    for (const channel of this.#server) {
      if (!this.#wanted.has(channel)) {
        unsubscribe.push(channel);
        this.#server.delete(channel);
      }
    }
    return { subscribe, unsubscribe };
  }

  /** The subscribe frame fields for `state`, noting whether `since` went out. */
  request(
    state: SubscriptionState,
  ): { channel: string; since?: SubscribeRequest["since"]; token?: string } {
    state.sentSince = state.position !== null;
    const frame: { channel: string; since?: SubscribeRequest["since"]; token?: string } = {
      channel: state.channel,
    };
    if (state.position) frame.since = { ...state.position };
    if (state.options.token !== undefined) frame.token = state.options.token;
    return frame;
  }

  /** The server answered a subscribe (or a connect) for `state` with `result`. */
  answered(state: SubscriptionState, result: SubscribeResult): void {
    if (this.#wanted.get(state.channel) !== state) return;
    const v = applySubscribeResult(state.position, state.sentSince, result);
    state.position = v.position;
    state.confirm(result);
    if (v.recovered !== null) this.#recovery(state, v.recovered);
  }

  /** The server refused a subscribe for `state`. */
  refusedRequest(state: SubscriptionState, err: SwitchyardClientError): void {
    // Already subscribed means the server does have it; any other refusal means it does not.
    if (err.code !== "ERR_ALREADY_SUBSCRIBED") this.#server.delete(state.channel);
    this.remove(state, err);
  }

  /** The server removed `channel` (`unsubscribed` frame). Returns the state it ended. */
  unsubscribed(channel: string, err: SwitchyardClientError): SubscriptionState | undefined {
    this.#server.delete(channel);
    const state = this.#wanted.get(channel);
    if (!state) return undefined;
    this.remove(state, err);
    call(() => state.options.onUnsubscribed?.({ code: err.code, reason: err.message }));
    return state;
  }

  /** Route a publication: dedupe by position, report a new epoch as a gap. */
  publication(frame: PublicationFrame): void {
    const state = this.#wanted.get(frame.channel);
    if (!state) return;
    const v = acceptPublication(state.position, frame);
    state.position = v.position;
    if (!v.deliver) return;
    if (v.reset) this.#recovery(state, false);
    const pub: Publication = {
      channel: frame.channel,
      offset: frame.offset,
      epoch: frame.epoch,
      data: frame.data,
    };
    if (frame.info !== undefined) pub.info = frame.info;
    call(() => state.options.onPublication(pub));
    this.#hooks.publication(pub);
  }

  /** Route a join or leave event. */
  joinLeave(frame: JoinLeaveFrame): void {
    const state = this.#wanted.get(frame.channel);
    if (!state) return;
    if (frame.type === "join") call(() => state.options.onJoin?.(frame.info));
    else call(() => state.options.onLeave?.(frame.info));
  }

  /** End every subscription with `err` (the client stopped). */
  clear(err: Error): void {
    for (const state of [...this.#wanted.values()]) this.remove(state, err);
    this.#server.clear();
  }

  #recovery(state: SubscriptionState, recovered: boolean): void {
    call(() => state.options.onRecovery?.({ recovered }));
    this.#hooks.recovery({ channel: state.channel, recovered });
  }
}

function call(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    report(err);
  }
}
