/**
 * The `"LOW-HIGH"` text of `gateway.port_range`.
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * Parses `"41000-41999"` into `[41000, 41999]`; `undefined` unless both ends are ports
 * (1–65535) and the first is not above the second.
 *
 * @example
 * ```ts
 * import { parsePortRange } from "./mod.ts";
 * parsePortRange("41000-41999"); // [41000, 41999]
 * parsePortRange("5000"); // undefined
 * ```
 */
export function parsePortRange(text: string): [number, number] | undefined {
  const match = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  if (!match) return undefined;
  const [low, high] = [Number(match[1]), Number(match[2])];
  if (low < 1 || high > 65535 || low > high) return undefined;
  return [low, high];
}
