/**
 * One logical client session: it outlives transports, keeps its subscriptions
 * and stream positions, and sends each publication to its client at most once
 * and in offset order.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { Publication } from "./broker.ts";
import type { Connection, TransportKind } from "./connection.ts";
import { TokenBucket } from "./rate_limiter.ts";
import { SequenceWindow } from "./sequence_window.ts";
import { type ClientInfo, encodeFrame, type StreamPosition } from "./protocol.ts";

/** A subscription of a session to one channel. */
export interface Subscription {
  /** Last position sent to the client (offset 0 with epoch "" before anything was). */
  position: StreamPosition;
  /** While recovering, live publications wait here so they follow the replay in order. */
  pending: { pub: Publication; frame: string }[] | null;
}

/** Options a session is created with. */
export interface SessionInit {
  id: string;
  key: string;
  user: string;
  client: string;
  /** Lineage for idempotency keys: the id of the first session of this client. */
  lineage: string;
  expiresAt?: number;
  channelsClaim: string[];
  info?: unknown;
  claims?: Readonly<Record<string, unknown>>;
  dedupeWindow: number;
  publishRate: number;
  publishBurst: number;
  now: number;
}

/** The current transport connection of a session and its receive state. */
export interface Attachment {
  conn: Connection;
  /** `false` once the link is closed or replaced; frames from it are then ignored. */
  live: boolean;
  /** `true` once `connected` went out on it: nothing else may be sent before. */
  announced: boolean;
  lastReceived: number;
  lastPing: number;
}

/** Server-side state of one client session. */
export class Session {
  readonly id: string;
  readonly key: string;
  readonly user: string;
  readonly client: string;
  readonly lineage: string;
  readonly info: ClientInfo;
  expiresAt: number | undefined;
  channelsClaim: ReadonlySet<string>;
  /** The token's claims (refreshed with the token); `{}` for anonymous. */
  claims: Readonly<Record<string, unknown>>;
  readonly subs = new Map<string, Subscription>();
  readonly applied: SequenceWindow;
  readonly bucket: TokenBucket;
  attachment: Attachment | null = null;
  /** Chains (re)attaches and subscription changes so they never interleave. */
  lock: Promise<void> = Promise.resolve();
  detachedAt: number;
  closed = false;

  constructor(init: SessionInit) {
    this.id = init.id;
    this.key = init.key;
    this.user = init.user;
    this.client = init.client;
    this.lineage = init.lineage;
    this.expiresAt = init.expiresAt;
    this.channelsClaim = claimSet(init.channelsClaim);
    this.claims = init.claims ?? {};
    this.info = init.info === undefined
      ? { user: init.user, client: init.id }
      : { user: init.user, client: init.id, info: init.info };
    this.applied = new SequenceWindow(init.dedupeWindow);
    this.bucket = new TokenBucket({ rate: init.publishRate, burst: init.publishBurst }, init.now);
    this.detachedAt = init.now;
  }

  /** The transport in use, or `null` while detached. */
  get transport(): TransportKind | null {
    return this.attachment?.conn.transport ?? null;
  }

  /** Send an encoded frame if attached; returns the bytes sent (0 when detached). */
  sendText(frame: string): number {
    const a = this.attachment;
    if (!a || !a.announced) return 0;
    a.conn.send(frame);
    return frame.length;
  }

  /** Encode and send a frame. */
  send(frame: Parameters<typeof encodeFrame>[0]): number {
    return this.sendText(encodeFrame(frame));
  }

  /**
   * Deliver a live publication. Sent only if it comes after the subscription's
   * position (never twice, never backwards); held while the channel recovers.
   * Returns the bytes sent.
   */
  deliver(channel: string, pub: Publication, frame: string): number {
    const sub = this.subs.get(channel);
    if (!sub) return 0;
    if (sub.pending) {
      // Held only for an attached client; a detached one recovers from history when it resumes.
      if (this.attachment) sub.pending.push({ pub, frame });
      return 0;
    }
    return this.#advance(sub, pub, frame);
  }

  /** End a recovery: send the replayed publications, then what arrived meanwhile. */
  finishRecovery(channel: string, replay: Publication[]): number {
    const sub = this.subs.get(channel);
    if (!sub) return 0;
    let bytes = 0;
    for (const pub of replay) {
      bytes += this.#advance(sub, pub, undefined, channel);
    }
    const pending = sub.pending ?? [];
    sub.pending = null;
    for (const { pub, frame } of pending) bytes += this.#advance(sub, pub, frame);
    return bytes;
  }

  #advance(sub: Subscription, pub: Publication, frame?: string, channel?: string): number {
    const pos = sub.position;
    // While detached nothing is sent and the position stays: the client's resume replays the gap.
    if (!this.attachment?.announced || (pub.epoch === pos.epoch && pub.offset <= pos.offset)) {
      return 0;
    }
    sub.position = { offset: pub.offset, epoch: pub.epoch };
    return this.sendText(frame ?? encodeFrame({ type: "pub", channel: channel!, ...pub }));
  }
}

const NO_CHANNELS: ReadonlySet<string> = new Set();

/** The channels of a token's `channels` claim; one shared empty set for the usual case. */
export function claimSet(channels: readonly string[]): ReadonlySet<string> {
  return channels.length === 0 ? NO_CHANNELS : new Set(channels);
}
