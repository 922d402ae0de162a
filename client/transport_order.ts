/**
 * Which transports to try, in which order.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { TransportKind } from "./transport.ts";

/**
 * Inputs of {@linkcode transportOrder}.
 *
 * @example
 * ```ts
 * import { transportOrder, type TransportOrderInput } from "./transport_order.ts";
 * const input: TransportOrderInput = { preferred: ["websocket", "sse"], usable: () => true };
 * transportOrder(input); // ["websocket", "sse"]
 * ```
 */
export interface TransportOrderInput {
  /** The configured order, best first. */
  preferred: readonly TransportKind[];
  /** Offered by the server and supported here. */
  usable(kind: TransportKind): boolean;
  /** The remembered winner for this origin, tried first. */
  cached?: TransportKind | null;
  /** `forceTransport(kind)`: only this one. */
  pinned?: TransportKind | null;
}

/**
 * The kinds to try for a fresh connection: the pinned one alone if any, else
 * the cached winner first and then the rest in the configured order, skipping
 * what is not usable.
 *
 * @example
 * ```ts
 * import { transportOrder } from "./transport_order.ts";
 * transportOrder({
 *   preferred: ["webtransport", "websocket", "sse"],
 *   usable: (k) => k !== "webtransport",
 *   cached: "sse",
 * }); // ["sse", "websocket"]
 * ```
 */
export function transportOrder(input: TransportOrderInput): TransportKind[] {
  if (input.pinned) return input.usable(input.pinned) ? [input.pinned] : [];
  const kinds = [...new Set(input.preferred)].filter((k) => input.usable(k));
  const cached = input.cached;
  if (cached && kinds.includes(cached)) return [cached, ...kinds.filter((k) => k !== cached)];
  return kinds;
}

/**
 * The usable kinds the configured order ranks above `current`, best first:
 * what a periodic upgrade tries.
 *
 * @example
 * ```ts
 * import { betterTransports } from "./transport_order.ts";
 * betterTransports("sse", ["webtransport", "websocket", "sse"], () => true);
 * // ["webtransport", "websocket"]
 * ```
 */
export function betterTransports(
  current: TransportKind,
  preferred: readonly TransportKind[],
  usable: (kind: TransportKind) => boolean,
): TransportKind[] {
  const kinds = [...new Set(preferred)];
  const at = kinds.indexOf(current);
  return (at < 0 ? [] : kinds.slice(0, at)).filter((k) => usable(k));
}
