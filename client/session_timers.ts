/**
 * The client's clocks while connected: liveness (our pings, the dead-link
 * check), the token refresh before expiry, and the periodic upgrade attempt.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { Link } from "./link.ts";

/**
 * What the timers ask the client to do.
 *
 * @example
 * ```ts
 * import { SessionTimers, type SessionTimerHooks } from "./session_timers.ts";
 * const hooks: SessionTimerHooks = { ping() {}, dead() {}, refresh() {}, upgrade() {} };
 * new SessionTimers(hooks).stopAll();
 * ```
 */
export interface SessionTimerHooks {
  /** Send a `ping` on `link` (RTT is measured when the `pong` arrives). */
  ping(link: Link): void;
  /** Nothing arrived on `link` for `silentMs`: it is dead. */
  dead(link: Link, silentMs: number): void;
  /** Time to get a fresh token and send `refresh`. */
  refresh(): void;
  /** Time to try a better transport. */
  upgrade(): void;
}

/** Longest delay `setTimeout` takes (2^31 − 1 ms). */
const MAX_DELAY = 2_147_483_647;

/**
 * Timers of the connected state.
 *
 * @example
 * ```ts
 * import { SessionTimers } from "./session_timers.ts";
 * const timers = new SessionTimers({ ping() {}, dead() {}, refresh() {}, upgrade() {} });
 * timers.scheduleUpgrade(60_000, true);
 * timers.stopAll();
 * ```
 */
export class SessionTimers {
  #hooks: SessionTimerHooks;
  #liveness: ReturnType<typeof setInterval> | undefined;
  #refresh: ReturnType<typeof setTimeout> | undefined;
  #upgrade: ReturnType<typeof setTimeout> | undefined;

  constructor(hooks: SessionTimerHooks) {
    this.#hooks = hooks;
  }

  /**
   * Watch `link`: send `ping` every `pingMs`, declare it dead after
   * `pingMs + pingTimeoutMs` without a frame (docs/protocol.md, "Liveness").
   */
  start(link: Link, pingMs: number, pingTimeoutMs: number): void {
    this.stop();
    link.lastReceived = Date.now();
    link.lastPingSent = link.lastReceived;
    if (!(pingMs > 0)) return;
    const deadAfter = pingMs + Math.max(0, pingTimeoutMs || 0);
    const tick = Math.max(10, Math.min(pingMs, deadAfter) / 4);
    this.#liveness = setInterval(() => {
      if (link.phase !== "connected") return this.stop();
      const now = Date.now();
      const silent = now - link.lastReceived;
      if (silent > deadAfter) {
        this.stop();
        return this.#hooks.dead(link, silent);
      }
      if (now - link.lastPingSent >= pingMs) {
        link.lastPingSent = now;
        link.pingSentAt = now;
        this.#hooks.ping(link);
      }
    }, tick);
  }

  /** Stop watching the link. */
  stop(): void {
    clearInterval(this.#liveness);
    this.#liveness = undefined;
  }

  /** Refresh ahead of `expires` (ms since epoch): half the remaining time, at most a minute early. */
  scheduleRefresh(expires: number | undefined, enabled: boolean): void {
    clearTimeout(this.#refresh);
    this.#refresh = undefined;
    if (!enabled || expires === undefined) return;
    const left = expires - Date.now();
    const delay = Math.max(0, left - Math.min(60_000, left / 2));
    this.#refresh = setTimeout(() => {
      this.#refresh = undefined;
      this.#hooks.refresh();
    }, Math.min(delay, MAX_DELAY));
  }

  /** Try an upgrade after `ms` (replaces a pending one); nothing when not `enabled`. */
  scheduleUpgrade(ms: number, enabled: boolean): void {
    clearTimeout(this.#upgrade);
    this.#upgrade = undefined;
    if (!enabled) return;
    this.#upgrade = setTimeout(() => {
      this.#upgrade = undefined;
      this.#hooks.upgrade();
    }, Math.min(ms, MAX_DELAY));
  }

  /** Stop everything. */
  stopAll(): void {
    this.stop();
    this.scheduleRefresh(undefined, false);
    this.scheduleUpgrade(0, false);
  }
}
