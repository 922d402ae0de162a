/**
 * Channels as the hub sees them: who may subscribe, who is subscribed on this
 * node, presence and join/leave, and recovery from history.
 *
 * This module is browser compatible (no I/O: the broker and authenticator are
 * handed in).
 *
 * @module
 */

import type { Authenticator } from "./authenticator.ts";
import type { Broker, PresenceStore, Publication } from "./broker.ts";
import { SwitchyardError } from "./errors.ts";
import { channelUsers, type NamespaceOptions, type Namespaces } from "./namespaces.ts";
import type { StreamPosition, SubscribeResult } from "./protocol.ts";
import type { Session } from "./session.ts";

/** How long a presence entry lives unless refreshed (ms). */
export const PRESENCE_TTL_MS = 60_000;

/** The outcome of (re)subscribing: the answer, and the publications to replay before live ones. */
export interface Recovery {
  result: SubscribeResult;
  replay: Publication[];
}

/** What a registry needs; a subset of the hub's options. */
export interface ChannelRegistryOptions {
  broker: Broker;
  presence: PresenceStore;
  authenticator: Authenticator;
  namespaces: Namespaces;
  limits: { maxChannelsPerSession: number };
  log: { warn(msg: string, fields?: Record<string, unknown>): void };
}

/**
 * The channels of one node and their local subscribers.
 *
 * Rules: `add()` subscribes the node at the broker for a channel's first local
 * subscriber and `remove()` unsubscribes it after the last; a subscription is
 * created holding live publications (`pending`) until `recover()` and the
 * session's `finishRecovery()` have sent the replay, so a client never sees a
 * live publication before the ones it missed.
 */
export class ChannelRegistry {
  #o: ChannelRegistryOptions;
  #members = new Map<string, Set<Session>>();

  constructor(options: ChannelRegistryOptions) {
    this.#o = options;
  }

  /** Sessions of this node subscribed to `channel`. */
  members(channel: string): ReadonlySet<Session> | undefined {
    return this.#members.get(channel);
  }

  /** May `session` subscribe to `channel`? Resolves with its namespace or throws `ERR_FORBIDDEN`/`ERR_BAD_CHANNEL`. */
  async authorize(
    session: Session,
    channel: string,
    token: string | undefined,
  ): Promise<NamespaceOptions> {
    const ns = await this.#authorizeRule(session, channel, token);
    await ns.guard?.(channel, { user: session.user, session: session.id, claims: session.claims });
    return ns;
  }

  async #authorizeRule(
    session: Session,
    channel: string,
    token: string | undefined,
  ): Promise<NamespaceOptions> {
    const ns = this.#o.namespaces.resolve(channel);
    const users = channelUsers(channel);
    if (users) {
      if (session.user === "" || !users.includes(session.user)) {
        throw new SwitchyardError(
          "ERR_FORBIDDEN",
          `Channel "${channel}" is limited to the users after "#"`,
        );
      }
      return ns;
    }
    if (session.channelsClaim.has(channel) || ns.subscribe === "public") return ns;
    if (ns.subscribe === "authenticated") {
      if (session.user !== "") return ns;
      throw new SwitchyardError(
        "ERR_FORBIDDEN",
        `Channel "${channel}" needs an authenticated user: connect with a token`,
      );
    }
    if (token === undefined) {
      throw new SwitchyardError(
        "ERR_FORBIDDEN",
        `Channel "${channel}" is private: subscribe with a subscription token`,
      );
    }
    await this.#o.authenticator.subscribe(token, channel, session.user);
    return ns;
  }

  /** Subscribe `session`; throws `ERR_CHANNEL_LIMIT` past the per-session limit. */
  async add(session: Session, channel: string, ns: NamespaceOptions): Promise<void> {
    const max = this.#o.limits.maxChannelsPerSession;
    if (session.subs.size >= max) {
      throw new SwitchyardError(
        "ERR_CHANNEL_LIMIT",
        `Cannot subscribe to "${channel}": limit of ${max} channels reached`,
      );
    }
    session.subs.set(channel, { position: { offset: 0, epoch: "" }, pending: [] });
    let members = this.#members.get(channel);
    if (!members) {
      members = new Set();
      this.#members.set(channel, members);
      members.add(session);
      await this.#o.broker.subscribe(channel);
    } else {
      members.add(session);
    }
    // The session may have closed while this awaited: its close already removed what it had,
    // so undo each step that lands after it.
    if (session.closed) {
      await this.remove(session, channel);
      throw sessionClosed(channel);
    }
    if (ns.presence) {
      await this.#o.presence.add(channel, session.id, session.info, PRESENCE_TTL_MS);
      if (session.closed) {
        await this.#o.presence.remove(channel, session.id);
        throw sessionClosed(channel);
      }
    }
    if (ns.joinLeave) {
      await this.#o.broker.publishJoinLeave(channel, "join", session.info);
      if (session.closed) {
        await this.#o.broker.publishJoinLeave(channel, "leave", session.info);
        throw sessionClosed(channel);
      }
    }
  }

  /** Unsubscribe `session` (no-op when it is not subscribed). */
  async remove(session: Session, channel: string): Promise<void> {
    if (!session.subs.delete(channel)) return;
    const members = this.#members.get(channel);
    members?.delete(session);
    if (members?.size === 0) {
      this.#members.delete(channel);
      await this.#o.broker.unsubscribe(channel);
    }
    let ns: NamespaceOptions;
    try {
      ns = this.#o.namespaces.resolve(channel);
    } catch {
      return;
    }
    if (ns.presence) await this.#o.presence.remove(channel, session.id);
    if (ns.joinLeave) await this.#o.broker.publishJoinLeave(channel, "leave", session.info);
  }

  /** Read history after `since` and decide what to replay; the session holds live publications meanwhile. */
  async recover(
    session: Session,
    channel: string,
    ns: NamespaceOptions,
    since: StreamPosition | undefined,
  ): Promise<Recovery> {
    const sub = session.subs.get(channel)!;
    if (!sub.pending) sub.pending = [];
    const recovering = since !== undefined && ns.recover;
    const { publications, top } = await this.#o.broker.history(channel, {
      since: recovering ? since : undefined,
      limit: ns.historySize,
    });
    let recovered = false;
    if (recovering && since.epoch === top.epoch && since.offset <= top.offset) {
      const n = publications.length;
      recovered = since.offset === top.offset ||
        (n > 0 && publications[0].offset === since.offset + 1 &&
          publications[n - 1].offset === top.offset);
    }
    sub.position = recovered ? { ...since! } : { ...top };
    return {
      result: {
        recovered,
        wasRecovering: since !== undefined,
        offset: top.offset,
        epoch: top.epoch,
      },
      replay: recovered ? publications : [],
    };
  }

  /** Keep `session`'s presence entries alive (called well within `PRESENCE_TTL_MS`). */
  refreshPresence(session: Session): void {
    for (const channel of session.subs.keys()) {
      try {
        if (!this.#o.namespaces.resolve(channel).presence) continue;
      } catch {
        continue;
      }
      this.#o.presence.add(channel, session.id, session.info, PRESENCE_TTL_MS).catch((err) =>
        this.#o.log.warn("Presence refresh failed", { channel, error: String(err) })
      );
    }
  }
}

function sessionClosed(channel: string): SwitchyardError {
  return new SwitchyardError(
    "ERR_SESSION_CLOSED",
    `Cannot subscribe to "${channel}": the session closed`,
  );
}
