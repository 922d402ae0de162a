/**
 * Channel namespaces: the options that apply to a channel, found by the part of
 * its name before `:`.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { SwitchyardError } from "./errors.ts";

/** Who may subscribe to a namespace's channels. */
export type SubscribeRule = "public" | "authenticated" | "private";

/** Options of one namespace (`[namespaces.NAME]` in switchyard.toml). */
export interface NamespaceOptions {
  /** Publications kept for recovery; 0 keeps none. */
  historySize: number;
  /** How long publications are kept (ms). */
  historyTtlMs: number;
  /** Track who is subscribed. */
  presence: boolean;
  /** Send join/leave events to subscribers. */
  joinLeave: boolean;
  /** Clients may publish (the server always may). */
  publish: boolean;
  /** `public`: anyone; `authenticated`: any user with a token; `private`: a subscription token or a `channels` claim. */
  subscribe: SubscribeRule;
  /** Replay missed publications on resubscribe. */
  recover: boolean;
  /**
   * A service's own check, run after the rule above allowed a client subscription: throw a
   * `SwitchyardError` (e.g. `ERR_FORBIDDEN`) to refuse. Document sync grants by `docs` claim here.
   */
  guard?: (channel: string, who: SubscriberInfo) => void | Promise<void>;
}

/** Who is subscribing, for a {@linkcode NamespaceOptions.guard}. */
export interface SubscriberInfo {
  user: string;
  session: string;
  claims: Readonly<Record<string, unknown>>;
}

/** Defaults for a namespace that sets nothing. */
export const DEFAULT_NAMESPACE: NamespaceOptions = {
  historySize: 0,
  historyTtlMs: 300_000,
  presence: false,
  joinLeave: false,
  publish: true,
  subscribe: "public",
  recover: true,
};

/**
 * Resolves a channel to its namespace options.
 *
 * @example
 * ```ts
 * import { Namespaces, DEFAULT_NAMESPACE } from "./namespaces.ts";
 * const ns = new Namespaces(DEFAULT_NAMESPACE, { chat: { ...DEFAULT_NAMESPACE, historySize: 100 } });
 * ns.resolve("chat:lobby").historySize; // 100
 * ```
 */
export class Namespaces {
  #defaults: NamespaceOptions;
  #named: Map<string, NamespaceOptions>;

  constructor(defaults: NamespaceOptions, named: Record<string, NamespaceOptions> = {}) {
    this.#defaults = defaults;
    this.#named = new Map(Object.entries(named));
  }

  /** Options for `channel`; throws `ERR_BAD_CHANNEL` for an unknown namespace. */
  resolve(channel: string): NamespaceOptions {
    const colon = channel.indexOf(":");
    if (colon < 0) return this.#defaults;
    const name = channel.slice(0, colon);
    const options = this.#named.get(name);
    if (!options) {
      throw new SwitchyardError(
        "ERR_BAD_CHANNEL",
        `Unknown namespace "${name.slice(0, 40)}" in channel "${
          channel.slice(0, 80)
        }": add [namespaces.${name.slice(0, 40)}] to switchyard.toml`,
      );
    }
    return options;
  }
}

/**
 * The users a user-limited channel is for (`chat:dm#alice,bob` → `["alice", "bob"]`),
 * or `undefined` for an ordinary channel.
 */
export function channelUsers(channel: string): string[] | undefined {
  const hash = channel.lastIndexOf("#");
  if (hash < 0) return undefined;
  return channel.slice(hash + 1).split(",").filter((u) => u.length > 0);
}
