/**
 * One pass over the transports in order: the first that connects wins; a
 * failure falls through to the next; a refusal that no transport can fix (a
 * bad token, a ban) ends the pass at once.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { adviceFor } from "../src/core/errors.ts";
import { SwitchyardClientError } from "./client_error.ts";
import type { TransportKind } from "./transport.ts";

/** Close code of `ERR_TOKEN_EXPIRED`: transient, but no transport helps without a new token. */
export const TOKEN_EXPIRED_CLOSE = 3004;

/** How a pass ended. */
export type RoundOutcome =
  | { kind: "connected"; transport: TransportKind }
  | { kind: "stop"; error: SwitchyardClientError }
  | { kind: "token-expired" }
  | { kind: "failed" };

/**
 * Try `kinds` in order with `attempt` (which resolves on `connected` and
 * rejects with the reason otherwise); call `fallback` each time the pass moves
 * on. `halted()` ends the pass quietly.
 *
 * @example
 * ```ts
 * import { tryInOrder } from "./fallback_round.ts";
 * const outcome = await tryInOrder(["webtransport", "websocket"], {
 *   attempt: (kind) => kind === "websocket" ? Promise.resolve() : Promise.reject(new Error("no UDP")),
 *   fallback: (from, to, reason) => console.log(`${from} → ${to}: ${reason}`),
 *   halted: () => false,
 * });
 * // { kind: "connected", transport: "websocket" }
 * ```
 */
export async function tryInOrder(
  kinds: readonly TransportKind[],
  hooks: {
    attempt(kind: TransportKind): Promise<void>;
    fallback(from: TransportKind, to: TransportKind, reason: string): void;
    halted(): boolean;
  },
): Promise<RoundOutcome> {
  for (let i = 0; i < kinds.length; i++) {
    try {
      await hooks.attempt(kinds[i]);
      return { kind: "connected", transport: kinds[i] };
    } catch (err) {
      if (hooks.halted()) return { kind: "failed" };
      const e = err instanceof SwitchyardClientError
        ? err
        : new SwitchyardClientError("ERR_TRANSPORT_FAILED", String((err as Error)?.message ?? err));
      if (e.closeCode === TOKEN_EXPIRED_CLOSE) return { kind: "token-expired" };
      if (e.closeCode !== undefined && adviceFor(e.closeCode) !== "reconnect") {
        return { kind: "stop", error: e };
      }
      if (i + 1 < kinds.length) hooks.fallback(kinds[i], kinds[i + 1], e.message);
    }
  }
  return { kind: "failed" };
}
