/**
 * Counters the client keeps, overall and per transport.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { TRANSPORT_KINDS, type TransportKind } from "./transport.ts";

/**
 * One set of counters.
 *
 * @example
 * ```ts
 * import { SwitchyardClient, type TransportCounters } from "./mod.ts";
 * const client = new SwitchyardClient("http://localhost:4480");
 * const ws: TransportCounters = client.metrics().perTransport.websocket;
 * console.log(ws.attempts, ws.failures, ws.rttAvgMs);
 * ```
 */
export interface TransportCounters {
  /** Connection attempts started (fresh connects and switch attempts). */
  attempts: number;
  /** Attempts that reached `connected`. */
  successes: number;
  /** Attempts that failed or timed out. */
  failures: number;
  /** Times the client moved on to the next transport after a failure (counted on the one that failed). */
  fallbacks: number;
  /** Live switches to a transport without loss (counted on the new one). */
  upgrades: number;
  /** Connections lost after `connected` that made the client reconnect (counted on the lost one). */
  reconnects: number;
  /** Last measured round trip (our `ping` → `pong`), ms; `null` before the first. */
  rttMs: number | null;
  /** Mean of every round trip measured, ms; `null` before the first. */
  rttAvgMs: number | null;
  /** Frames received. */
  messagesIn: number;
  /** Frames sent. */
  messagesOut: number;
  /** UTF-8 bytes of frames received (without transport framing). */
  bytesIn: number;
  /** UTF-8 bytes of frames sent (without transport framing). */
  bytesOut: number;
}

/**
 * What `client.metrics()` returns.
 *
 * @example
 * ```ts
 * import { SwitchyardClient, type ClientMetrics } from "./mod.ts";
 * const client = new SwitchyardClient("http://localhost:4480");
 * const m: ClientMetrics = client.metrics();
 * console.log(m.fallbacks, m.upgrades, m.rttMs, m.bytesIn);
 * ```
 */
export interface ClientMetrics extends TransportCounters {
  /** The same counters for each transport kind. */
  perTransport: Record<TransportKind, TransportCounters>;
}

type Counter = Exclude<keyof TransportCounters, "rttMs" | "rttAvgMs">;

function zero(): TransportCounters {
  return {
    attempts: 0,
    successes: 0,
    failures: 0,
    fallbacks: 0,
    upgrades: 0,
    reconnects: 0,
    rttMs: null,
    rttAvgMs: null,
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
}

/**
 * UTF-8 length of a string without encoding it.
 *
 * @example
 * ```ts
 * import { utf8Length } from "./client_metrics.ts";
 * utf8Length("é€😀"); // 9
 * ```
 */
export function utf8Length(text: string): number {
  let n = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      // A surrogate pair: 2 UTF-16 units, 4 bytes.
      n += 1;
      i += 1;
    } else n += 2;
  }
  return n;
}

/**
 * Mutable counters behind `client.metrics()`.
 *
 * @example
 * ```ts
 * import { MetricsRecorder } from "./client_metrics.ts";
 * const m = new MetricsRecorder();
 * m.count("websocket", "attempts");
 * m.frameOut("websocket", '{"type":"ping"}');
 * m.snapshot().perTransport.websocket.messagesOut; // 1
 * ```
 */
export class MetricsRecorder {
  #total = zero();
  #per = Object.fromEntries(TRANSPORT_KINDS.map((k) => [k, zero()])) as Record<
    TransportKind,
    TransportCounters
  >;
  #rttSum = { total: 0, n: 0 };
  #rttPer = Object.fromEntries(TRANSPORT_KINDS.map((k) => [k, { total: 0, n: 0 }])) as Record<
    TransportKind,
    { total: number; n: number }
  >;

  /** Add one to `counter`, overall and for `kind`. */
  count(kind: TransportKind, counter: Counter, by = 1): void {
    this.#total[counter] += by;
    this.#per[kind][counter] += by;
  }

  frameIn(kind: TransportKind, text: string): void {
    this.count(kind, "messagesIn");
    this.count(kind, "bytesIn", utf8Length(text));
  }

  frameOut(kind: TransportKind, text: string): void {
    this.count(kind, "messagesOut");
    this.count(kind, "bytesOut", utf8Length(text));
  }

  rtt(kind: TransportKind, ms: number): void {
    for (
      const [c, sum] of [[this.#total, this.#rttSum], [
        this.#per[kind],
        this.#rttPer[kind],
      ]] as const
    ) {
      sum.total += ms;
      sum.n += 1;
      c.rttMs = ms;
      c.rttAvgMs = sum.total / sum.n;
    }
  }

  /** A copy of every counter. */
  snapshot(): ClientMetrics {
    const perTransport = Object.fromEntries(
      TRANSPORT_KINDS.map((k) => [k, { ...this.#per[k] }]),
    ) as Record<TransportKind, TransportCounters>;
    return { ...this.#total, perTransport };
  }
}
