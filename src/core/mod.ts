/**
 * The pure core of Switchyard: protocol, sessions, hub, broker contract.
 * Nothing here does I/O.
 *
 * This module is browser compatible.
 *
 * @module
 */

export * from "./errors.ts";
export * from "./protocol.ts";
export * from "./broker.ts";
export * from "./connection.ts";
export * from "./authenticator.ts";
export * from "./namespaces.ts";
export * from "./rate_limiter.ts";
export * from "./sequence_window.ts";
export * from "./hub.ts";
export * from "./hub_stats.ts";
export { Session } from "./session.ts";
export const DEFAULT_LIMITS = {
  maxMessageBytes: 65_536,
  maxChannelsPerSession: 128,
  maxConnections: 10_000,
  maxConnectionsPerIp: 1_000,
  publishRate: 100,
  publishBurst: 200,
  maxSendBufferBytes: 1_048_576,
};
export const DEFAULT_TIMING = {
  graceMs: 30_000,
  pingIntervalMs: 5_000,
  pingTimeoutMs: 4_000,
  dedupeWindow: 1_024,
};
export * from "./channel_registry.ts";
export * from "./bytes.ts";
export * from "./requests.ts";
