/**
 * Counters the hub keeps on its hot paths as plain numbers; the metrics layer
 * reads them when scraped.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { TransportKind } from "./connection.ts";
import type { ErrorCode } from "./errors.ts";

type PerTransport = Record<TransportKind, number>;

function zero(): PerTransport {
  return { webtransport: 0, websocket: 0, sse: 0 };
}

/** Cumulative counters of a hub. */
export class HubStats {
  readonly connectionsOpened: PerTransport = zero();
  readonly connectionsOpen: PerTransport = zero();
  readonly messagesIn: PerTransport = zero();
  readonly bytesIn: PerTransport = zero();
  readonly messagesOut: PerTransport = zero();
  readonly bytesOut: PerTransport = zero();
  readonly errors: Partial<Record<ErrorCode, number>> = {};
  sessionsResumed = 0;
  transportSwitches = 0;

  connectionOpened(t: TransportKind): void {
    this.connectionsOpened[t] += 1;
    this.connectionsOpen[t] += 1;
  }

  connectionClosed(t: TransportKind): void {
    this.connectionsOpen[t] -= 1;
  }

  received(t: TransportKind, bytes: number): void {
    this.messagesIn[t] += 1;
    this.bytesIn[t] += bytes;
  }

  sent(t: TransportKind, bytes: number): void {
    if (bytes <= 0) return;
    this.messagesOut[t] += 1;
    this.bytesOut[t] += bytes;
  }

  error(code: ErrorCode): void {
    this.errors[code] = (this.errors[code] ?? 0) + 1;
  }
}
