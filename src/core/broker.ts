/**
 * The broker contract: where publications get their stream positions, where
 * history lives and how publications reach every node.
 *
 * The hub never talks to another node itself; it hands the broker a
 * {@linkcode BrokerSink} and reacts to what arrives there. The in-memory broker
 * serves one process; a Redis broker (pub/sub for fan-out, a stream per channel
 * for history, `SET NX PX` for idempotency keys, a sorted set per channel for
 * presence) fits the same contract without changes to the hub.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { ClientInfo, StreamPosition } from "./protocol.ts";

/** A stored publication. */
export interface Publication extends StreamPosition {
  data: unknown;
  info?: ClientInfo;
}

/** How a channel keeps its history; comes from the channel's namespace. */
export interface HistoryPolicy {
  /** Publications kept; 0 keeps none (offsets still advance, so gaps are detected). */
  size: number;
  /** How long a publication is kept (ms). */
  ttlMs: number;
}

/** Options of {@linkcode Broker.publish}. */
export interface PublishOptions {
  history: HistoryPolicy;
  info?: ClientInfo;
  /**
   * A key that makes the publish idempotent: a second publish with the same key
   * within `idempotencyTtlMs` publishes nothing and returns the first one's publication.
   */
  idempotencyKey?: string;
  idempotencyTtlMs?: number;
}

/** Options of {@linkcode Broker.history}. */
export interface HistoryQuery {
  /** Return publications after this position (only when its epoch is the stream's). */
  since?: StreamPosition;
  /** At most this many publications, oldest first. */
  limit: number;
}

/** What {@linkcode Broker.history} returns. */
export interface HistoryResult {
  /** Oldest first, contiguous offsets. Empty when `since.epoch` is not the stream's epoch. */
  publications: Publication[];
  /** The stream's latest position (offset 0 before the first publication). */
  top: StreamPosition;
}

/**
 * Receives what the broker delivers. Called once per node for each publication,
 * in offset order per channel; the sink must not throw.
 */
export interface BrokerSink {
  publication(channel: string, pub: Publication): void;
  join(channel: string, info: ClientInfo): void;
  leave(channel: string, info: ClientInfo): void;
}

/**
 * Stores and fans out publications.
 *
 * Rules every implementation keeps (the contract suite in
 * `broker_contract.ts` checks them):
 * - Saving a publication to history and delivering it to the sinks is atomic per
 *   channel: offsets within an epoch are gapless and increase by one, and sinks
 *   see a channel's publications in offset order.
 * - A sink is only called for channels this node has `subscribe`d to.
 * - `history()` never returns a publication twice or out of order.
 * - The epoch of a channel changes only when its history is lost (for example
 *   the stream expired or the store was wiped); clients then learn
 *   `recovered: false` instead of a silent gap.
 */
export interface Broker {
  /** Begin delivering to `sink`. Called once, before anything else. */
  start(sink: BrokerSink): Promise<void>;
  /** Save and deliver a publication; resolves with its stream position. */
  publish(channel: string, data: unknown, options: PublishOptions): Promise<Publication>;
  /** Read history after a position, and the stream's top. */
  history(channel: string, query: HistoryQuery): Promise<HistoryResult>;
  /** Deliver this channel's publications and join/leave events to this node's sink. */
  subscribe(channel: string): Promise<void>;
  /** Stop delivering this channel to this node. */
  unsubscribe(channel: string): Promise<void>;
  /** Deliver a join or leave event to every node subscribed to `channel`. */
  publishJoinLeave(channel: string, kind: "join" | "leave", info: ClientInfo): Promise<void>;
  /** Release resources; no sink call happens after it resolves. */
  close(): Promise<void>;
}

/**
 * Who is in a channel. Entries expire after `ttlMs` unless refreshed, so a node
 * that dies does not leave ghosts behind.
 */
export interface PresenceStore {
  add(channel: string, clientId: string, info: ClientInfo, ttlMs: number): Promise<void>;
  remove(channel: string, clientId: string): Promise<void>;
  get(channel: string): Promise<Record<string, ClientInfo>>;
}
