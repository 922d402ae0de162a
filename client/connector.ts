/**
 * Keeps the client's session connected: transport selection and fallback,
 * backoff, reconnects, token renewal, liveness, and live switches to another
 * transport (periodic upgrades, `forceTransport`).
 *
 * This module is browser compatible.
 *
 * @module
 */

import { adviceFor } from "../src/core/errors.ts";
import { TOKEN_EXPIRED_CLOSE, tryInOrder } from "./fallback_round.ts";
import { type ConnectedFrame, decodeServerFrame, type ServerFrame } from "../src/core/protocol.ts";
import { Backoff } from "./backoff.ts";
import { type Bootstrap, fetchBootstrap } from "./bootstrap.ts";
import {
  asClientError,
  closedError,
  closeError,
  errorText,
  SwitchyardClientError,
} from "./client_error.ts";
import type { MetricsRecorder } from "./client_metrics.ts";
import type { ClientEvents, ClientState, ResolvedOptions } from "./client_options.ts";
import type { Emitter } from "./emitter.ts";
import { Link, type LinkHost } from "./link.ts";
import { SessionTimers } from "./session_timers.ts";
import type { TransportKind } from "./transport.ts";
import { TransportCache } from "./transport_cache.ts";
import { betterTransports, transportOrder } from "./transport_order.ts";
import { openTransport, transportSupported } from "./transports/mod.ts";
import { type Deferred, deferred } from "./_deferred.ts";

/**
 * What the connector needs from the client.
 *
 * @example
 * ```ts
 * import type { ConnectorHost } from "./connector.ts";
 * // Implemented by SwitchyardClient; see switchyard_client.ts.
 * type Host = ConnectorHost;
 * ```
 */
export interface ConnectorHost {
  /** The `connect` frame for `link` (records its id and subscriptions on the link). */
  connectFrame(link: Link, token: string | undefined): string;
  /** `link` reached `connected` and is now the active one: apply results, resend. */
  installed(link: Link, frame: ConnectedFrame): void;
  /** A frame the connector does not handle itself (reply, pub, join, leave, unsubscribed). */
  frame(link: Link, frame: ServerFrame): void;
  /** A switch failed and the old link carries on: send what waited for it. */
  resumed(): void;
  /** The client must not reconnect: fail everything pending with `err`. */
  stopped(err: SwitchyardClientError): void;
  /** Send `refresh` with `token`; resolves with the server's answer. */
  refresh(token: string): Promise<{ expires?: number } | undefined>;
}

interface Loss {
  kind: TransportKind;
  /** Set when the client must not reconnect. */
  stop?: SwitchyardClientError;
}

/** While switching, frames of the new link wait until the old one has said everything. */
interface Hold {
  link: Link;
  frames: string[];
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * The connection half of `SwitchyardClient`.
 *
 * @example
 * ```ts
 * // Internal: SwitchyardClient creates one and implements ConnectorHost.
 * import { Connector } from "./connector.ts";
 * ```
 */
export class Connector {
  readonly #o: ResolvedOptions;
  readonly #url: string;
  readonly #origin: string;
  readonly #host: ConnectorHost;
  readonly #events: Emitter<ClientEvents>;
  readonly #metrics: MetricsRecorder;
  readonly #cache: TransportCache;
  readonly #backoff: Backoff;
  readonly #timers: SessionTimers;
  readonly #linkHost: LinkHost;
  #bootstrap: Bootstrap | null;
  #state: ClientState = "idle";
  #final = false;
  #everConnected = false;
  #active: Link | null = null;
  /** A switch attempt whose `connect` went out: requests wait for its outcome. */
  #switching: Link | null = null;
  #switchFrom: TransportKind | null = null;
  /** Upgrade targets that failed: how often, and when to try again. */
  #upgradeRetry = new Map<TransportKind, { failures: number; at: number }>();
  #pendingLoss: Loss | null = null;
  #hold: Hold | null = null;
  #links = new Set<Link>();
  #token: string | undefined;
  #tokenStale = false;
  #pin: TransportKind | null = null;
  #loop: Promise<void> | null = null;
  #lost = deferred<Loss>();
  #waiters: Deferred<void>[] = [];
  #wake: (() => void) | null = null;
  #roundAbort = new AbortController();
  #switchChain: Promise<unknown> = Promise.resolve();
  #closing: Deferred<void> | null = null;

  constructor(init: {
    url: string;
    options: ResolvedOptions;
    host: ConnectorHost;
    events: Emitter<ClientEvents>;
    metrics: MetricsRecorder;
  }) {
    this.#o = init.options;
    this.#url = init.url;
    this.#origin = new URL(init.url).origin;
    this.#host = init.host;
    this.#events = init.events;
    this.#metrics = init.metrics;
    this.#token = this.#o.token;
    this.#bootstrap = this.#o.bootstrap ?? null;
    this.#cache = new TransportCache({ storage: this.#o.storage, rememberMs: this.#o.rememberMs });
    this.#backoff = new Backoff(this.#o.backoff);
    this.#timers = new SessionTimers({
      ping: (link) => this.send(link, '{"type":"ping"}'),
      dead: (link, ms) => {
        link.close("ERR_PING_TIMEOUT", `No frame for ${ms} ms`);
        this.#linkLost(link, 3002, `No frame for ${ms} ms`);
      },
      refresh: () => this.#refreshToken(),
      upgrade: () => this.#upgrade(),
    });
    this.#linkHost = {
      frame: (link, text) => this.#frame(link, text),
      lost: (link, code, reason) => this.#linkLost(link, code, reason),
    };
  }

  get state(): ClientState {
    return this.#state;
  }

  /** The connected link, `null` while not connected. */
  get active(): Link | null {
    return this.#active?.phase === "connected" ? this.#active : null;
  }

  /** The bootstrap's `maxMessageBytes`, once known. */
  get maxMessageBytes(): number | undefined {
    return this.#bootstrap?.maxMessageBytes;
  }

  /** The link requests may go out on: connected, and no switch waiting for its answer. */
  ready(): Link | null {
    return this.#switching ? null : this.active;
  }

  /** Send one frame on `link`, counting it. */
  send(link: Link, text: string): void {
    if (link.send(text)) this.#metrics.frameOut(link.kind, text);
  }

  /** Resolves once connected; rejects if the client closes or is refused for good. */
  connect(): Promise<void> {
    if (this.#final) return Promise.reject(closedError());
    if (this.#state === "connected") return Promise.resolve();
    const d = deferred<void>();
    this.#waiters.push(d);
    this.ensureRunning();
    return d.promise;
  }

  /** Start the connection loop unless it runs (or the client is closed). */
  ensureRunning(): void {
    if (this.#final || this.#loop) return;
    this.#loop = this.#run().finally(() => this.#loop = null);
  }

  /** See `SwitchyardClient.forceTransport()`. */
  async forceTransport(kind: TransportKind | null): Promise<void> {
    if (this.#final) throw closedError();
    const previous = this.#pin;
    this.#pin = kind;
    if (kind === null) return this.#timers.scheduleUpgrade(0, this.#canUpgrade());
    try {
      if (this.#state !== "connected") {
        this.#wake?.();
        await this.connect();
      }
      if (this.#active?.kind !== kind) await this.#serialSwitch(kind);
    } catch (err) {
      if (this.#pin === kind) this.#pin = previous;
      throw err;
    }
  }

  /** Kill the active connection as a network failure would. */
  drop(): void {
    const link = this.active;
    if (!link) return;
    link.close("ERR_TRANSPORT_FAILED", "Dropped by dropTransport()");
    this.#linkLost(link, 1006, "Dropped by dropTransport()");
  }

  /** Send `close`, give the server a moment to end the session, then stop for good. */
  async close(): Promise<void> {
    if (this.#final) return;
    this.#final = true;
    const link = this.active;
    if (link) {
      // The server ends the session and closes the connection; closing first could lose the frame.
      const gone = deferred<void>();
      this.#closing = gone;
      this.send(link, '{"type":"close"}');
      const timer = setTimeout(gone.resolve, Math.min(1000, this.#o.attemptTimeoutMs));
      await gone.promise;
      clearTimeout(timer);
    }
    this.#halt(closedError());
    this.#setState("closed");
    await this.#loop;
  }

  // ---- the loop -------------------------------------------------------------------

  async #run(): Promise<void> {
    this.#setState(this.#everConnected ? "reconnecting" : "connecting");
    while (!this.#halted()) {
      const round = await this.#round();
      if (this.#halted()) return;
      if (round.stop) return this.#stopWith(round.stop);
      if (round.connected) {
        const loss = await this.#lost.promise;
        if (this.#halted()) return;
        if (loss.stop) return this.#stopWith(loss.stop);
      }
      this.#setState(this.#everConnected ? "reconnecting" : "connecting");
      await this.#sleep(this.#backoff.next());
    }
  }

  #halted(): boolean {
    return this.#final || this.#state === "closed";
  }

  /** One pass over the transports; resolves once one is connected or all failed. */
  async #round(): Promise<{ connected?: boolean; stop?: SwitchyardClientError }> {
    const getToken = this.#o.getToken;
    if (getToken && (this.#token === undefined || this.#tokenStale)) {
      try {
        this.#token = await getToken();
        this.#tokenStale = false;
      } catch (err) {
        this.#error("ERR_TOKEN_PROVIDER", `getToken() failed: ${errorText(err)}`);
        return {};
      }
      if (this.#halted()) return {};
    }
    const boot = await this.#getBootstrap();
    if (!boot || this.#halted()) return {};
    const kinds = transportOrder({
      preferred: this.#o.transports,
      usable: (k) => this.#usable(k),
      cached: this.#cache.recall(this.#origin),
      pinned: this.#pin,
    });
    if (kinds.length === 0) {
      const wanted = this.#pin ? [this.#pin] : this.#o.transports;
      const offered = Object.keys(boot.transports).join(", ") || "none";
      this.#error(
        "ERR_NO_TRANSPORT",
        `No usable transport: wanted ${wanted.join(", ")}, the server offers ${offered}`,
      );
    }
    const outcome = await tryInOrder(kinds, {
      attempt: (kind) =>
        this.#attempt(new Link(kind, boot.transports[kind]!, this.#linkHost), false),
      fallback: (from, to, reason) => {
        this.#metrics.count(from, "fallbacks");
        this.#events.emit("fallback", { from, to, reason });
      },
      halted: () => this.#halted(),
    });
    if (outcome.kind === "connected") return { connected: true };
    if (outcome.kind === "stop") return { stop: outcome.error };
    if (outcome.kind === "token-expired") this.#tokenStale = true;
    // Certificates rotate and transports come and go: ask again next round.
    if (!this.#o.bootstrap) this.#bootstrap = null;
    return {};
  }

  async #getBootstrap(): Promise<Bootstrap | null> {
    if (this.#bootstrap) return this.#bootstrap;
    try {
      this.#bootstrap = await fetchBootstrap(this.#url, {
        signal: this.#roundAbort.signal,
        timeoutMs: this.#o.attemptTimeoutMs,
        fetch: this.#o.fetch,
      });
    } catch (err) {
      if (!this.#halted()) this.#error("ERR_BOOTSTRAP", errorText(err));
    }
    return this.#bootstrap;
  }

  #usable(kind: TransportKind): boolean {
    if (!this.#bootstrap?.transports[kind]) return false;
    if (this.#o.supported) return this.#o.supported(kind);
    return this.#o.opener ? true : transportSupported(kind);
  }

  async #attempt(link: Link, isSwitch: boolean): Promise<void> {
    this.#links.add(link);
    this.#metrics.count(link.kind, "attempts");
    try {
      await link.attempt({
        opener: this.#o.opener ?? openTransport,
        timeoutMs: this.#o.attemptTimeoutMs,
        connectFrame: (l) => {
          if (isSwitch) this.#switching = l;
          const text = this.#host.connectFrame(l, this.#token);
          this.#metrics.frameOut(l.kind, text);
          return text;
        },
      });
    } catch (err) {
      this.#metrics.count(link.kind, "failures");
      throw err;
    } finally {
      if (link.phase !== "connected") this.#links.delete(link);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }

  // ---- frames -----------------------------------------------------------------------

  #frame(link: Link, text: string): void {
    const hold = this.#hold;
    if (hold?.link === link) {
      hold.frames.push(text);
      hold.timer ??= setTimeout(
        () => this.#release(),
        Math.min(1000, this.#o.attemptTimeoutMs / 2),
      );
      return;
    }
    if (link.phase === "closed") return;
    link.lastReceived = Date.now();
    this.#metrics.frameIn(link.kind, text);
    let frame: ServerFrame;
    try {
      frame = decodeServerFrame(text);
    } catch {
      return;
    }
    switch (frame.type) {
      case "connected":
        if (link.phase !== "connecting" || frame.id !== link.connectId) return;
        if (this.#halted()) return link.close();
        link.connected();
        this.#metrics.count(link.kind, "successes");
        if (link === this.#switching) this.#switched(link, frame);
        else this.#install(link, frame, false);
        return;
      case "disconnect":
        link.disconnect = frame;
        if (this.#hold && link === this.#active) this.#release();
        return;
      case "ping":
        return this.send(link, '{"type":"pong"}');
      case "pong":
        if (link.pingSentAt !== null) {
          this.#metrics.rtt(link.kind, Date.now() - link.pingSentAt);
          link.pingSentAt = null;
        }
        return;
      default:
        this.#host.frame(link, frame);
    }
  }

  // ---- connected, lost, switched ---------------------------------------------------

  #install(link: Link, frame: ConnectedFrame, isSwitch: boolean): void {
    this.#active = link;
    this.#everConnected = true;
    this.#backoff.reset();
    this.#cache.remember(this.#origin, link.kind);
    if (!isSwitch) this.#lost = deferred<Loss>();
    this.#timers.start(link, frame.ping, frame.pingTimeout);
    this.#timers.scheduleRefresh(frame.expires, this.#o.getToken !== undefined);
    this.#timers.scheduleUpgrade(this.#o.upgradeIntervalMs, this.#canUpgrade());
    this.#host.installed(link, frame);
    this.#setState("connected");
    for (const w of this.#waiters.splice(0)) w.resolve();
  }

  #linkLost(link: Link, code: number, reason: string): void {
    this.#links.delete(link);
    if (this.#final) return this.#closing?.resolve();
    if (this.#hold && link === this.#active) this.#release();
    if (link !== this.#active) return;
    this.#active = null;
    this.#timers.stop();
    const loss: Loss = { kind: link.kind };
    if (code === TOKEN_EXPIRED_CLOSE) this.#tokenStale = true;
    else if (adviceFor(code) !== "reconnect") {
      loss.stop = closeError(code, reason, link.disconnect?.error);
    }
    // While a switch is under way the server may have closed this link for it: wait for the outcome.
    if (this.#switching) this.#pendingLoss = loss;
    else this.#resolveLoss(loss);
  }

  #resolveLoss(loss: Loss): void {
    if (!loss.stop) {
      this.#metrics.count(loss.kind, "reconnects");
      this.#setState("reconnecting");
    }
    this.#lost.resolve(loss);
  }

  #switched(link: Link, frame: ConnectedFrame): void {
    const old = this.#active;
    this.#switching = null;
    this.#pendingLoss = null;
    this.#timers.stop();
    this.#metrics.count(link.kind, "upgrades");
    this.#install(link, frame, true);
    if (old && old !== link) {
      // The server closes it with ERR_TRANSPORT_REPLACED: expected, not a failure.
      this.#links.delete(old);
      old.close("ERR_TRANSPORT_REPLACED", "Replaced by a switch");
    }
    this.#events.emit("upgrade", { from: old?.kind ?? this.#switchFrom!, to: link.kind });
  }

  #serialSwitch(kind: TransportKind): Promise<void> {
    const run = this.#switchChain.then(() => this.#switchTo(kind));
    this.#switchChain = run.catch(() => {});
    return run;
  }

  async #switchTo(kind: TransportKind): Promise<void> {
    const old = this.active;
    if (this.#final) throw closedError();
    if (!old) {
      throw new SwitchyardClientError(
        "ERR_TRANSPORT_FAILED",
        `Cannot switch to ${kind}: not connected`,
      );
    }
    if (old.kind === kind) return;
    const endpoint = this.#bootstrap?.transports[kind];
    if (!endpoint || !this.#usable(kind)) {
      throw new SwitchyardClientError(
        "ERR_NO_TRANSPORT",
        `Cannot switch to ${kind}: not offered by the server or not supported here`,
      );
    }
    const link = new Link(kind, endpoint, this.#linkHost);
    this.#switchFrom = old.kind;
    // Until the old link has delivered everything the server sent on it (its disconnect or
    // close), frames of the new one wait: nothing may overtake what was sent before the switch.
    this.#hold = { link, frames: [] };
    try {
      await this.#attempt(link, true);
    } catch (err) {
      if (this.#hold?.link === link) this.#dropHold();
      if (this.#switching === link) this.#switching = null;
      const loss = this.#pendingLoss;
      this.#pendingLoss = null;
      if (loss) this.#resolveLoss(loss);
      else this.#host.resumed();
      throw err;
    } finally {
      this.#switchFrom = null;
    }
  }

  #canUpgrade(): boolean {
    const link = this.#active;
    if (!link || this.#pin || this.#o.upgradeIntervalMs === 0) return false;
    return betterTransports(link.kind, this.#o.transports, (k) => this.#usable(k)).length > 0;
  }

  async #upgrade(): Promise<void> {
    const link = this.active;
    if (!link || this.#pin) return;
    const now = Date.now();
    const better = betterTransports(link.kind, this.#o.transports, (k) => this.#usable(k));
    for (const kind of better.filter((k) => (this.#upgradeRetry.get(k)?.at ?? 0) <= now)) {
      try {
        await this.#serialSwitch(kind);
        this.#upgradeRetry.delete(kind);
        break;
      } catch {
        // A transport that opens but then fails (a proxy that buffers SSE, UDP that dies after
        // the handshake) would disturb the session at every interval: wait longer each time.
        const failures = (this.#upgradeRetry.get(kind)?.failures ?? 0) + 1;
        const wait = Math.min(3_600_000, this.#o.upgradeIntervalMs * 2 ** failures);
        this.#upgradeRetry.set(kind, { failures, at: Date.now() + wait });
        if (this.#active !== link) break;
      }
    }
    if (this.active) this.#timers.scheduleUpgrade(this.#o.upgradeIntervalMs, this.#canUpgrade());
  }

  #dropHold(): void {
    clearTimeout(this.#hold?.timer);
    this.#hold = null;
  }

  #release(): void {
    const hold = this.#hold;
    if (!hold) return;
    this.#dropHold();
    for (const text of hold.frames) this.#frame(hold.link, text);
  }

  async #refreshToken(): Promise<void> {
    const getToken = this.#o.getToken;
    if (!getToken || this.#final) return;
    try {
      this.#token = await getToken();
    } catch (err) {
      return this.#error("ERR_TOKEN_PROVIDER", `getToken() failed: ${errorText(err)}`);
    }
    if (!this.ready()) return;
    try {
      const r = await this.#host.refresh(this.#token);
      if (r) this.#timers.scheduleRefresh(r.expires, true);
    } catch (err) {
      const e = asClientError(err);
      if (e.code !== "ERR_CLIENT_CLOSED") this.#events.emit("error", e);
    }
  }

  // ---- stopping ----------------------------------------------------------------------

  #halt(err: SwitchyardClientError): void {
    this.#timers.stopAll();
    this.#roundAbort.abort();
    this.#roundAbort = new AbortController();
    this.#dropHold();
    for (const link of [...this.#links, ...(this.#active ? [this.#active] : [])]) {
      link.close(err.code, err.message);
    }
    this.#links.clear();
    this.#active = null;
    this.#switching = null;
    this.#pendingLoss = null;
    this.#host.stopped(err);
    for (const w of this.#waiters.splice(0)) w.reject(err);
    this.#lost.resolve({ kind: "websocket", stop: err });
    this.#wake?.();
  }

  #stopWith(err: SwitchyardClientError): void {
    this.#halt(err);
    this.#setState("closed");
    this.#events.emit("error", err);
  }

  #setState(state: ClientState): void {
    if (this.#state === state) return;
    if (this.#final && state !== "closed") return;
    this.#state = state;
    this.#events.emit("state", state);
  }

  #error(code: SwitchyardClientError["code"], message: string): void {
    this.#events.emit("error", new SwitchyardClientError(code, message));
  }
}
