/**
 * Picks a loopback port for a session's process from the gateway's range.
 *
 * @module
 */

import { GatewayError } from "./_gateway_error.ts";

/**
 * The first port of `[first, last]` that is not in `taken` (ports of the gateway's other
 * sessions) and that can be bound on 127.0.0.1 right now (so nothing else holds it).
 * Synchronous, so two starts in the same tick cannot pick the same port. Throws
 * `ERR_PORTS_EXHAUSTED` when none is left.
 */
export function pickPort(range: readonly [number, number], taken: ReadonlySet<number>): number {
  const [first, last] = range;
  for (let port = first; port <= last; port++) {
    if (taken.has(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // In use by another program, or not ours to bind: try the next one.
    }
  }
  throw new GatewayError(
    "ERR_PORTS_EXHAUSTED",
    `No free port in ${first}-${last}: ${taken.size} in use by sessions, the rest by other ` +
      "programs. Stop a session or widen port_range",
  );
}

/** Throws a RangeError unless `range` is a valid, ordered port range. */
export function assertPortRange(range: readonly [number, number]): void {
  const [first, last] = range;
  const valid = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;
  if (!valid(first) || !valid(last) || first > last) {
    throw new RangeError(`Invalid port range ${first}-${last}: use two ports, low to high`);
  }
}
