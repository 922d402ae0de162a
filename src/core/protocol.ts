/**
 * Frames of the Switchyard protocol and their JSON codec.
 *
 * One frame is one JSON object with a `type`. The same frames travel over every
 * transport; only the framing differs (docs/protocol.md). `decodeClientFrame`
 * validates everything a client sends, so the rest of the server can trust it.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { type ErrorCode, SwitchyardError } from "./errors.ts";

/** A position in a channel's stream: `offset` grows by one per publication within one `epoch`. */
export interface StreamPosition {
  offset: number;
  epoch: string;
}

/** What a client asks when (re)subscribing to a channel on connect. */
export interface SubscribeRequest {
  /** Resume after this position: the server replays what came later, or says `recovered: false`. */
  since?: StreamPosition;
  /** Subscription token for a private channel. */
  token?: string;
}

/** Outcome of one subscription: `offset`/`epoch` are the stream's top when it was made. */
export interface SubscribeResult extends StreamPosition {
  /** `true` when every publication after `since` follows; `false` when some were lost. */
  recovered: boolean;
  /** `true` when the client had asked for recovery (sent `since`). */
  wasRecovering: boolean;
}

/** Client → server frames. */
export type ClientFrame =
  | ConnectFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | PublishFrame
  | RpcFrame
  | PresenceFrame
  | RefreshFrame
  | PingFrame
  | PongFrame
  | CloseFrame;

/** First frame of every connection: starts a session or resumes one. */
export interface ConnectFrame {
  type: "connect";
  id: number;
  token?: string;
  /**
   * Resume this session if it is still within its grace period. When it has
   * expired, the new session keeps its lineage, so publishes stay idempotent.
   */
  resume?: { session: string; key: string };
  /** Channels to (re)subscribe, with the last position the client has. */
  subs?: Record<string, SubscribeRequest>;
  /** Informational: client name and version. */
  client?: string;
  /** Informational: how many transports failed before this one in this connection attempt. */
  fallbacks?: number;
}

/** Subscribe to a channel. */
export interface SubscribeFrame {
  type: "subscribe";
  id: number;
  channel: string;
  since?: StreamPosition;
  token?: string;
}

/** Leave a channel. */
export interface UnsubscribeFrame {
  type: "unsubscribe";
  id: number;
  channel: string;
}

/** Publish to a channel. `seq` makes it idempotent within a session. */
export interface PublishFrame {
  type: "publish";
  id: number;
  seq: number;
  channel: string;
  data: unknown;
}

/** Call a server method. `seq` makes it idempotent within a session. */
export interface RpcFrame {
  type: "rpc";
  id: number;
  seq: number;
  method: string;
  data?: unknown;
}

/** Ask who is present in a channel. */
export interface PresenceFrame {
  type: "presence";
  id: number;
  channel: string;
}

/** Replace the connection token before it expires. */
export interface RefreshFrame {
  type: "refresh";
  id: number;
  token: string;
}

/** Liveness probe; the peer answers `pong`. */
export interface PingFrame {
  type: "ping";
}

/** Answer to `ping`. */
export interface PongFrame {
  type: "pong";
}

/** The client ends its session for good (no grace period). */
export interface CloseFrame {
  type: "close";
}

/** Server → client frames. */
export type ServerFrame =
  | ConnectedFrame
  | ReplyFrame
  | PublicationFrame
  | JoinLeaveFrame
  | UnsubscribedFrame
  | DisconnectFrame
  | PingFrame
  | PongFrame;

/** Answer to `connect`. */
export interface ConnectedFrame {
  type: "connected";
  id: number;
  session: string;
  /** Secret that lets this client (and only it) resume the session. */
  key: string;
  /** The id of the first session of this client (idempotency keys carry it). */
  lineage: string;
  /** `true` when an existing session was resumed: its subscriptions and dedupe window survived. */
  resumed: boolean;
  /** The server pings at this interval (ms); a client that hears nothing for ping + pingTimeout reconnects. */
  ping: number;
  pingTimeout: number;
  /** Highest `seq` the session has applied (0 if none): the client drops these from its outbox. */
  seq: number;
  /** Results for the `subs` of the connect frame, and for subscriptions kept by a resumed session. */
  subs: Record<string, SubscribeResult>;
  /** Token expiry (ms since epoch), when the token has one. */
  expires?: number;
  user: string;
}

/** Answer to a request frame (`id`). Exactly one of `result` and `error`. */
export interface ReplyFrame {
  type: "reply";
  id: number;
  result?: unknown;
  error?: { code: ErrorCode; message: string };
}

/** Who published: present when the publisher was a client. */
export interface ClientInfo {
  user: string;
  client: string;
  info?: unknown;
}

/** A publication in a channel. */
export interface PublicationFrame extends StreamPosition {
  type: "pub";
  channel: string;
  data: unknown;
  info?: ClientInfo;
}

/** Somebody joined or left a channel with `join_leave` enabled. */
export interface JoinLeaveFrame {
  type: "join" | "leave";
  channel: string;
  info: ClientInfo;
}

/** The server removed a subscription. */
export interface UnsubscribedFrame {
  type: "unsubscribed";
  channel: string;
  code: ErrorCode;
  reason: string;
}

/** The server closes this connection; `reconnect` says whether to come back. */
export interface DisconnectFrame {
  type: "disconnect";
  code: number;
  error: ErrorCode;
  reason: string;
  reconnect: boolean;
}

/** Longest channel name accepted. */
export const MAX_CHANNEL_LENGTH = 255;

/** Encode a frame as the JSON text carried on the wire. */
export function encodeFrame(frame: ServerFrame | ClientFrame): string {
  return JSON.stringify(frame);
}

/** Decode a server frame (used by clients). Throws `ERR_BAD_FRAME` on anything that is not one. */
export function decodeServerFrame(text: string): ServerFrame {
  const value = parseObject(text);
  if (typeof value.type !== "string") throw bad('missing string field "type"');
  return value as unknown as ServerFrame;
}

/**
 * Decode and validate one client frame.
 *
 * @throws {SwitchyardError} `ERR_BAD_FRAME` naming the first problem found.
 */
export function decodeClientFrame(text: string): ClientFrame {
  const v = parseObject(text);
  switch (v.type) {
    case "connect": {
      id(v);
      optString(v, "token");
      optString(v, "client");
      if (v.fallbacks !== undefined) nonNegativeInteger(v, "fallbacks");
      if (v.resume !== undefined) {
        const r = object(v.resume, "resume");
        string(r, "session", "resume.session");
        string(r, "key", "resume.key");
      }
      if (v.subs !== undefined) {
        const subs = object(v.subs, "subs");
        for (const [channel, req] of Object.entries(subs)) {
          channelName(channel);
          const r = object(req, `subs["${channel}"]`);
          if (r.since !== undefined) position(r.since, `subs["${channel}"].since`);
          optString(r, "token", `subs["${channel}"].token`);
        }
      }
      return v as unknown as ConnectFrame;
    }
    case "subscribe":
      id(v);
      channelName(string(v, "channel"));
      if (v.since !== undefined) position(v.since, "since");
      optString(v, "token");
      return v as unknown as SubscribeFrame;
    case "unsubscribe":
      id(v);
      channelName(string(v, "channel"));
      return v as unknown as UnsubscribeFrame;
    case "publish":
      id(v);
      seq(v);
      channelName(string(v, "channel"));
      if (!("data" in v)) throw bad('"publish" needs a "data" field');
      return v as unknown as PublishFrame;
    case "rpc":
      id(v);
      seq(v);
      if (string(v, "method").length === 0) throw bad('"method" must not be empty');
      return v as unknown as RpcFrame;
    case "presence":
      id(v);
      channelName(string(v, "channel"));
      return v as unknown as PresenceFrame;
    case "refresh":
      id(v);
      string(v, "token");
      return v as unknown as RefreshFrame;
    case "ping":
    case "pong":
    case "close":
      return v as unknown as ClientFrame;
    default:
      throw bad(
        typeof v.type === "string"
          ? `unknown frame type "${v.type.slice(0, 40)}"`
          : 'missing string field "type"',
      );
  }
}

/** Validate a channel name: `namespace:name` or `name`, 1–255 characters, no control characters. */
export function channelName(channel: string): string {
  if (channel.length === 0 || channel.length > MAX_CHANNEL_LENGTH) {
    throw new SwitchyardError(
      "ERR_BAD_CHANNEL",
      `Invalid channel name: must be 1 to ${MAX_CHANNEL_LENGTH} characters`,
    );
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f\s]/.test(channel)) {
    throw new SwitchyardError(
      "ERR_BAD_CHANNEL",
      `Invalid channel name ${
        JSON.stringify(channel.slice(0, 40))
      }: no spaces or control characters`,
    );
  }
  return channel;
}

type Obj = Record<string, unknown>;

function bad(detail: string): SwitchyardError {
  return new SwitchyardError("ERR_BAD_FRAME", `Malformed frame: ${detail}`);
}

function parseObject(text: string): Obj {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw bad("not valid JSON");
  }
  return object(value, "frame");
}

function object(value: unknown, what: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw bad(`${what} must be a JSON object`);
  }
  return value as Obj;
}

function string(v: Obj, key: string, name = key): string {
  const value = v[key];
  if (typeof value !== "string") throw bad(`"${name}" must be a string`);
  return value;
}

function optString(v: Obj, key: string, name = key): void {
  if (v[key] !== undefined && typeof v[key] !== "string") throw bad(`"${name}" must be a string`);
}

function nonNegativeInteger(v: Obj, key: string, name = key): number {
  const value = v[key];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw bad(`"${name}" must be a non-negative integer`);
  }
  return value;
}

function id(v: Obj): void {
  nonNegativeInteger(v, "id");
}

function seq(v: Obj): void {
  if (nonNegativeInteger(v, "seq") === 0) throw bad('"seq" starts at 1');
}

function position(value: unknown, name: string): void {
  const p = object(value, name);
  nonNegativeInteger(p, "offset", `${name}.offset`);
  string(p, "epoch", `${name}.epoch`);
}
