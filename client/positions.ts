/**
 * Stream-position bookkeeping: which publications to deliver, and where a
 * subscription stands after the server answers a (re)subscribe.
 *
 * The rules (docs/protocol.md, "Stream positions and recovery"): a publication
 * whose epoch is the remembered one and whose offset is not greater is a
 * duplicate; a new epoch means the channel's history was lost; a subscribe
 * answer with `recovered: false` moves the position to the stream's top.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { StreamPosition, SubscribeResult } from "../src/core/protocol.ts";

/**
 * What to do with one publication.
 *
 * @example
 * ```ts
 * import { acceptPublication, type PublicationVerdict } from "./positions.ts";
 * const v: PublicationVerdict = acceptPublication(null, { offset: 1, epoch: "e" });
 * ```
 */
export interface PublicationVerdict {
  /** Hand it to the application. */
  deliver: boolean;
  /** The subscription's position afterwards. */
  position: StreamPosition;
  /** `true` when it came in a new epoch: publications may have been lost. */
  reset: boolean;
}

/**
 * Decide whether a publication at `pub` is new, given the last accepted position.
 *
 * @example
 * ```ts
 * import { acceptPublication } from "./positions.ts";
 * acceptPublication({ offset: 5, epoch: "e" }, { offset: 5, epoch: "e" }).deliver; // false
 * acceptPublication({ offset: 5, epoch: "e" }, { offset: 6, epoch: "e" }).deliver; // true
 * acceptPublication({ offset: 5, epoch: "e" }, { offset: 1, epoch: "f" }).reset; // true
 * ```
 */
export function acceptPublication(
  last: StreamPosition | null,
  pub: StreamPosition,
): PublicationVerdict {
  const position = { offset: pub.offset, epoch: pub.epoch };
  if (last === null) return { deliver: true, position, reset: false };
  if (last.epoch !== pub.epoch) return { deliver: true, position, reset: true };
  if (pub.offset <= last.offset) return { deliver: false, position: last, reset: false };
  return { deliver: true, position, reset: false };
}

/**
 * Where a subscription stands after a subscribe answer.
 *
 * @example
 * ```ts
 * import { applySubscribeResult, type ResultVerdict } from "./positions.ts";
 * const v: ResultVerdict = applySubscribeResult(null, false, {
 *   recovered: false,
 *   wasRecovering: false,
 *   offset: 0,
 *   epoch: "e",
 * });
 * ```
 */
export interface ResultVerdict {
  position: StreamPosition;
  /**
   * The recovery outcome to report: `true` nothing was missed, `false` some
   * publications may be missing (refetch), `null` nothing to report (a fresh
   * subscription without `since`).
   */
  recovered: boolean | null;
}

/**
 * Apply a subscribe answer to the position the client holds. `last` is the
 * position sent as `since` or received since then; `sentSince` says whether a
 * `since` went out with the request.
 *
 * @example
 * ```ts
 * import { applySubscribeResult } from "./positions.ts";
 * const since = { offset: 3, epoch: "e" };
 * applySubscribeResult(since, true, { recovered: true, wasRecovering: true, offset: 9, epoch: "e" });
 * // { position: { offset: 3, epoch: "e" }, recovered: true }: 4..9 follow as pubs
 * applySubscribeResult(since, true, { recovered: false, wasRecovering: true, offset: 9, epoch: "e" });
 * // { position: { offset: 9, epoch: "e" }, recovered: false }: refetch
 * ```
 */
export function applySubscribeResult(
  last: StreamPosition | null,
  sentSince: boolean,
  result: SubscribeResult,
): ResultVerdict {
  const top = { offset: result.offset, epoch: result.epoch };
  if (last === null) return { position: top, recovered: sentSince ? result.recovered : null };
  if (result.recovered) return { position: last, recovered: sentSince ? true : null };
  const gap = last.epoch !== top.epoch || top.offset > last.offset;
  if (gap) return { position: top, recovered: false };
  // The server could not replay, but the client already has everything up to the top.
  return { position: last, recovered: sentSince ? true : null };
}
