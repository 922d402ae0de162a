/**
 * The requests of a connected session: subscribe, unsubscribe, publish, rpc,
 * presence and refresh. The hub hands each one over with its link; replies go
 * back through the hub.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { ChannelRegistry, Recovery } from "./channel_registry.ts";
import type { Connection } from "./connection.ts";
import { SwitchyardError, toProtocolError } from "./errors.ts";
import type { Clock, HubOptions, Logger, RpcHandler } from "./hub.ts";
import type { HubStats } from "./hub_stats.ts";
import { claimSet, type Session } from "./session.ts";
import type { ClientFrame, ServerFrame } from "./protocol.ts";
import type { Outcome } from "./sequence_window.ts";

/** What a request needs to know of the link it came on. */
export interface RequestLink {
  readonly conn: Connection;
  readonly live: boolean;
  readonly closed: boolean;
  readonly session: Session | null;
}

/** The parts of the hub that requests use. */
export interface RequestContext {
  readonly options: HubOptions;
  readonly channels: ChannelRegistry;
  readonly clock: Clock;
  readonly log: Logger;
  readonly stats: HubStats;
  readonly rpc: ReadonlyMap<string, RpcHandler>;
  sendTo(session: Session, frame: ServerFrame): void;
  exclusive(session: Session, job: () => Promise<void>): Promise<void>;
  destroy(session: Session): Promise<void>;
  idempotencyTtl(): number;
}

/** Handles the requests of connected sessions. */
export class Requests {
  #c: RequestContext;

  constructor(context: RequestContext) {
    this.#c = context;
  }

  /** Handle one request frame (not connect, ping, pong or close) that arrived on `state`. */
  async handle(state: RequestLink, frame: ClientFrame): Promise<void> {
    const session = state.session;
    if (!session || state.closed || !state.live || session.closed) return;
    const started = this.#c.clock.now();
    switch (frame.type) {
      case "subscribe":
        await this.#c.exclusive(session, () => this.#subscribe(state, session, frame));
        break;
      case "unsubscribe":
        await this.#c.exclusive(session, async () => {
          if (!state.live || session.closed) return;
          const reply = await this.#attempt(async () => {
            if (!session.subs.has(frame.channel)) {
              throw new SwitchyardError(
                "ERR_NOT_SUBSCRIBED",
                `Not subscribed to "${frame.channel}"`,
              );
            }
            await this.#c.channels.remove(session, frame.channel);
            return {};
          });
          this.#c.sendTo(session, { type: "reply", id: frame.id, ...reply });
        });
        break;
      case "publish":
      case "rpc": {
        if (
          !session.applied.idle &&
          frame.seq > session.applied.floor + 4 * this.#c.options.session.dedupeWindow
        ) {
          this.#c.sendTo(session, {
            type: "reply",
            id: frame.id,
            error: {
              code: "ERR_BAD_REQUEST",
              message: `seq ${frame.seq} is too far ahead of ${session.applied.floor}`,
            },
          });
          break;
        }
        const { outcome } = session.applied.run(
          frame.seq,
          () =>
            this.#attempt(() =>
              frame.type === "publish" ? this.#publish(session, frame) : this.#call(session, frame)
            ),
        );
        const reply = await outcome;
        this.#c.sendTo(session, { type: "reply", id: frame.id, ...reply } as ServerFrame);
        break;
      }
      case "presence": {
        const reply = await this.#attempt(async () => {
          const ns = this.#c.options.namespaces.resolve(frame.channel);
          if (!ns.presence) {
            throw new SwitchyardError(
              "ERR_BAD_REQUEST",
              `Presence is off for "${frame.channel}": set presence = true in its namespace`,
            );
          }
          if (!session.subs.has(frame.channel)) {
            await this.#c.channels.authorize(session, frame.channel, undefined);
          }
          return await this.#c.options.presence.get(frame.channel);
        });
        this.#c.sendTo(session, { type: "reply", id: frame.id, ...reply });
        break;
      }
      case "refresh": {
        const reply = await this.#attempt(async () => {
          const creds = await this.#c.options.authenticator.connect(frame.token);
          if (creds.user !== session.user) {
            throw new SwitchyardError(
              "ERR_BAD_REQUEST",
              "Refresh token is for another user: reconnect instead",
            );
          }
          session.expiresAt = creds.expiresAt;
          session.channelsClaim = claimSet(creds.channels);
          session.claims = creds.claims ?? {};
          return { expires: creds.expiresAt };
        });
        this.#c.sendTo(session, { type: "reply", id: frame.id, ...reply });
        break;
      }
      case "close":
        await this.#c.destroy(session);
        return;
    }
    this.#c.options.observer?.request?.(frame.type, (this.#c.clock.now() - started) / 1000);
  }

  async #subscribe(
    state: RequestLink,
    session: Session,
    frame: ClientFrame & { type: "subscribe" },
  ): Promise<void> {
    // A request from a replaced link is dropped: the client lists the channel in its next connect.
    if (!state.live || session.closed) return;
    let added = false;
    const reply = await this.#attempt(async () => {
      if (session.subs.has(frame.channel)) {
        throw new SwitchyardError(
          "ERR_ALREADY_SUBSCRIBED",
          `Already subscribed to "${frame.channel}"`,
        );
      }
      const ns = await this.#c.channels.authorize(session, frame.channel, frame.token);
      if (!state.live || session.closed) return undefined;
      await this.#c.channels.add(session, frame.channel, ns);
      added = true;
      return await this.#c.channels.recover(session, frame.channel, ns, frame.since);
    });
    if ("error" in reply || !state.live || session.closed) {
      // No half-made subscription stays behind: the client may retry, or resubscribe on connect.
      if (added) await this.#c.channels.remove(session, frame.channel).catch(() => {});
      if ("error" in reply) {
        this.#c.sendTo(session, { type: "reply", id: frame.id, error: reply.error });
      }
      return;
    }
    const { result, replay } = reply.result as Recovery;
    this.#c.sendTo(session, { type: "reply", id: frame.id, result });
    this.#c.stats.sent(state.conn.transport, session.finishRecovery(frame.channel, replay));
  }

  async #attempt(fn: () => Promise<unknown>): Promise<Outcome> {
    try {
      return { result: await fn() };
    } catch (err) {
      const e = toProtocolError(err);
      if (e.code === "ERR_INTERNAL") {
        this.#c.log.error("Request failed", { error: String((err as Error)?.stack ?? err) });
      }
      this.#c.stats.error(e.code);
      return { error: { code: e.code, message: e.message } };
    }
  }

  async #publish(session: Session, frame: ClientFrame & { type: "publish" }): Promise<unknown> {
    this.#rateLimit(session);
    const ns = this.#c.options.namespaces.resolve(frame.channel);
    if (!ns.publish) {
      throw new SwitchyardError(
        "ERR_FORBIDDEN",
        `Clients may not publish to "${frame.channel}": its namespace sets publish = false`,
      );
    }
    if (!session.subs.has(frame.channel)) {
      await this.#c.channels.authorize(session, frame.channel, undefined);
    }
    const pub = await this.#c.options.broker.publish(frame.channel, frame.data, {
      history: { size: ns.historySize, ttlMs: ns.historyTtlMs },
      info: session.info,
      idempotencyKey: `${session.user}\u0000${session.lineage}:${frame.seq}`,
      idempotencyTtlMs: this.#c.idempotencyTtl(),
    });
    return { offset: pub.offset, epoch: pub.epoch };
  }

  async #call(session: Session, frame: ClientFrame & { type: "rpc" }): Promise<unknown> {
    this.#rateLimit(session);
    const handler = this.#c.rpc.get(frame.method);
    if (!handler) {
      throw new SwitchyardError(
        "ERR_METHOD_NOT_FOUND",
        `No RPC method "${frame.method.slice(0, 80)}"`,
      );
    }
    return await handler(frame.data, {
      session: session.id,
      user: session.user,
      info: session.info.info,
      transport: session.transport,
      claims: session.claims,
    });
  }

  #rateLimit(session: Session): void {
    if (!session.bucket.take(this.#c.clock.now())) {
      throw new SwitchyardError(
        "ERR_RATE_LIMIT",
        `Rate limit: more than ${this.#c.options.limits.publishRate} publishes per second (limits.publish_rate)`,
      );
    }
  }
}
