/**
 * The session gateway: one dev-server process per session id, each on its own loopback port,
 * and the router that sends `/session/{id}/…` to it with the prefix kept, or, with subdomain
 * routing, every request for the host `{id}.{suffix}` with its path unchanged. Sessions start on
 * request (or through the API), stop when idle, restart after a crash (the supervisor's
 * backoff) and all stop, process group and all, on {@linkcode GatewayService.close}.
 *
 * @module
 */

import type { Logger } from "../../core/mod.ts";
import { authorizeSession, type SessionAccessOptions } from "./access.ts";
import { closeProxyConnections, proxyRequest } from "./proxy.ts";
import {
  expandTemplate,
  GatewayError,
  type GatewayErrorCode,
  type LogLine,
  type RestartPolicy,
  SessionProcess,
  type SessionState,
  type StateDetail,
} from "./supervisor.ts";
import { assertSessionId } from "./_command_template.ts";
import { exposedListeners } from "./_exposure.ts";
import { assertPortRange, pickPort } from "./_port_range.ts";
import { isBrowserNavigation, startingPage } from "./_session_pages.ts";
import { sessionIdFromHost, sessionRoute } from "./_session_route.ts";
import { awaitReady, failureResponse } from "./_session_responses.ts";

/** Options of {@linkcode GatewayService}. */
export interface GatewayOptions {
  /** Command template with `{id}`, `{port}` and `{dir}` (the expanded `cwd`). */
  command: string | readonly string[];
  /** Working-directory template (`{id}`, `{port}`); default the server's. */
  cwd?: string;
  /** Environment of each process; values are templates like the command. */
  env?: Record<string, string>;
  /** How to tell a process is ready; an HTTP path may contain `{id}`. */
  readiness: { type: "tcp" } | { type: "http"; path: string };
  /** A process not ready within this is killed and the session fails. */
  readyTimeoutMs: number;
  /** A session with no request and no open WebSocket for this long is stopped. */
  idleTimeoutMs: number;
  /** Sessions running at once (starting, ready, or crashed and about to restart). */
  maxSessions: number;
  /** Loopback ports to hand out, both ends included. */
  portRange: readonly [number, number];
  /** Start an unknown or stopped session when a request for it arrives. */
  startOnRequest: boolean;
  /**
   * Subdomain routing: the host `{id}.{subdomainSuffix}` (any port) is session `id`'s own
   * origin, every path of it proxied unchanged, and `/session/{id}/` is not served. Unset:
   * path routing under `/session/{id}/`.
   */
  subdomainSuffix?: string;
  log: Logger;
  /** Restart policy after crashes; the supervisor's default otherwise. */
  restart?: RestartPolicy;
  /** Time between SIGTERM and SIGKILL on stop; default 5000 ms. */
  stopGraceMs?: number;
  /** Clock for activity and start times; default `Date.now`. */
  now?: () => number;
  /** How often idle sessions are looked for; default a quarter of `idleTimeoutMs`, ≤ 30 s. */
  sweepIntervalMs?: number;
  /**
   * Who may reach a session (see `authorizeSession()` in `access.ts`): checked on every
   * request before anything starts. Without it every request is let in unchanged.
   */
  access?: SessionAccessOptions;
}

/** One row of {@linkcode GatewayService.list}. */
export interface SessionInfo {
  id: string;
  state: SessionState;
  /** Port of the running process; null when not running. */
  port: number | null;
  pid: number | null;
  /** When it was last started, in ms since the epoch. */
  startedAt: number | null;
  lastActivity: number;
  /** Why it failed or last crashed. */
  error?: { code: GatewayErrorCode; message: string };
}

/** What the HTTP layer knows about a request beyond the request itself. */
export interface RequestContext {
  url: URL;
  remoteAddress: string;
  /** The client reached us over TLS (sets X-Forwarded-Proto). */
  secure: boolean;
  /**
   * The host the client asked for, port included (the server's `ctx.host`: `X-Forwarded-Host`
   * only from a trusted proxy). Default: the `Host` header, else `url.host`.
   */
  host?: string;
}

interface Entry {
  id: string;
  process: SessionProcess;
  port: number;
  /** Started by us and neither stopped nor given up on. */
  active: boolean;
  /** Settles once the process is spawned (rejects when it cannot be). */
  spawning: Promise<void>;
  startedAt: number | null;
  lastActivity: number;
  /** Proxied WebSockets open now; a session with one is never idle. */
  sockets: number;
  /** Aborted on stop: closes the session's proxied WebSockets and streams. */
  abort: AbortController;
}

type LogListener = (id: string, line: LogLine) => void;
type StateListener = (id: string, state: SessionState, detail: StateDetail) => void;

/**
 * Runs and routes session dev servers. Ports come from `portRange`: the first one no other
 * session uses and that can be bound on 127.0.0.1. A session that failed to start stays
 * failed (502 with its last log lines) until it is started or restarted explicitly, so a
 * page that refreshes cannot respawn a broken command forever.
 *
 * @example
 * ```ts ignore
 * import { GatewayService } from "./gateway_service.ts";
 * const gateway = new GatewayService({
 *   command: "npx vite --port {port} --base /session/{id}/ --strictPort --host 127.0.0.1",
 *   readiness: { type: "http", path: "/session/{id}/" },
 *   readyTimeoutMs: 60_000, idleTimeoutMs: 600_000, maxSessions: 20,
 *   portRange: [41000, 41999], startOnRequest: true, log: console,
 * });
 * Deno.serve((req, info) => {
 *   const url = new URL(req.url);
 *   return gateway.handle(req, { url, remoteAddress: info.remoteAddr.hostname, secure: false });
 * });
 * ```
 */
export class GatewayService {
  readonly #options: GatewayOptions;
  readonly #now: () => number;
  readonly #sessions = new Map<string, Entry>();
  readonly #logListeners = new Set<{ id?: string; fn: LogListener }>();
  readonly #stateListeners = new Set<StateListener>();
  readonly #sweeper: ReturnType<typeof setInterval>;
  readonly #counts = { processStarts: 0, crashes: 0, proxied: 0 };
  #closed = false;

  /** Checks the templates and the port range; starts the idle sweep (an unref'd timer). */
  constructor(options: GatewayOptions) {
    assertPortRange(options.portRange);
    if (!Number.isInteger(options.maxSessions) || options.maxSessions < 1) {
      throw new RangeError(`Invalid maxSessions ${options.maxSessions}: use 1 or more`);
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
    // Template mistakes surface now rather than at the first session.
    this.#processFor("template-check", options.portRange[0]);
    const every = options.sweepIntervalMs ??
      Math.max(10, Math.min(options.idleTimeoutMs / 4, 30_000));
    this.#sweeper = setInterval(() => this.#sweep(), every);
    Deno.unrefTimer(this.#sweeper);
  }

  /** Same as {@linkcode GatewayService.start}. */
  create(id: string): Promise<SessionInfo> {
    return this.start(id);
  }

  /**
   * Starts session `id` unless it runs already (idempotent); resolves once its process is
   * spawned, not ready. Rejects with `ERR_BAD_SESSION_ID`, `ERR_MAX_SESSIONS`,
   * `ERR_PORTS_EXHAUSTED`, `ERR_GATEWAY_CLOSED` or a spawn failure (`ERR_COMMAND_NOT_FOUND`).
   */
  async start(id: string): Promise<SessionInfo> {
    const entry = this.#activate(id);
    await entry.spawning;
    return this.#info(entry);
  }

  /** Resolves when session `id` is ready; rejects like `SessionProcess.ready()`. */
  async ready(id: string): Promise<void> {
    const entry = this.#entry(id);
    await entry.spawning;
    await entry.process.ready();
  }

  /** Stops session `id` and its process group; a no-op for unknown or stopped sessions. */
  async stop(id: string): Promise<void> {
    const entry = this.#sessions.get(id);
    if (!entry) return;
    entry.active = false;
    entry.abort.abort();
    await entry.process.stop({ graceMs: this.#options.stopGraceMs });
  }

  /** Restarts a running session on its port; starts one that is not running. */
  async restart(id: string): Promise<SessionInfo> {
    const entry = this.#sessions.get(id);
    if (!entry?.active) return this.start(id);
    entry.startedAt = entry.lastActivity = this.#now();
    await entry.process.restart({ graceMs: this.#options.stopGraceMs });
    return this.#info(entry);
  }

  /** Every known session, running or not, in order of first start. */
  list(): SessionInfo[] {
    return [...this.#sessions.values()].map((entry) => this.#info(entry));
  }

  /** Counters for `/metrics`: sessions by state, process starts, crashes, proxied traffic. */
  stats(): {
    sessions: Record<SessionState, number>;
    processStarts: number;
    crashes: number;
    proxied: number;
    websockets: number;
  } {
    const sessions = { starting: 0, ready: 0, crashed: 0, stopped: 0 };
    let websockets = 0;
    for (const entry of this.#sessions.values()) {
      sessions[this.#info(entry).state]++;
      websockets += entry.sockets;
    }
    return { sessions, ...this.#counts, websockets };
  }

  /** The recent output of session `id`'s current process; `ERR_UNKNOWN_SESSION` if none. */
  logs(id: string): LogLine[] {
    return this.#entry(id).process.logs();
  }

  /** Calls `fn` for each line any session writes; returns a function that removes it. */
  onLog(fn: LogListener): () => void;
  /** Calls `fn` for each line session `id` writes; returns a function that removes it. */
  onLog(id: string, fn: LogListener): () => void;
  onLog(idOrFn: string | LogListener, maybeFn?: LogListener): () => void {
    const listener = typeof idOrFn === "string"
      ? { id: idOrFn, fn: maybeFn! }
      : { id: undefined, fn: idOrFn };
    this.#logListeners.add(listener);
    return () => this.#logListeners.delete(listener);
  }

  /** Calls `fn` on every state change of every session; returns a function that removes it. */
  onState(fn: StateListener): () => void {
    this.#stateListeners.add(fn);
    return () => this.#stateListeners.delete(fn);
  }

  /** Stops every session's process group and closes the proxy's pooled connections. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    await Promise.all([...this.#sessions.keys()].map((id) => this.stop(id)));
    closeProxyConnections();
  }

  /**
   * Whether `host` (port included) is a session's own host: always false with path routing.
   * The matcher of the server's host route, which sends such requests to {@linkcode handle}.
   */
  servesHost(host: string): boolean {
    const suffix = this.#options.subdomainSuffix;
    return suffix !== undefined && sessionIdFromHost(host, suffix) !== undefined;
  }

  /**
   * Answers a request for `/session/{id}/…` (prefix kept), or with subdomain routing any
   * request for the host `{id}.{suffix}` (path unchanged; `/session/…` on other hosts is then
   * a 404 naming the session's host): proxies it, HTTP or WebSocket, to a ready session once
   * `access` lets it in; starts a stopped one when `startOnRequest` and waits for it, except
   * that a browser navigation gets a self-refreshing 503 page at once. Errors are JSON
   * `{error, message}` (an HTML page for browsers): 401/403 no access, 404 not running, 400
   * bad id, 503 limits, 502 failed to start (with its last log lines), 504 not ready in time.
   */
  async handle(req: Request, ctx: RequestContext): Promise<Response> {
    const route = sessionRoute(req, ctx, this.#options.subdomainSuffix);
    if (route instanceof Response) return route;
    const { id, rest, ownHost } = route;
    const browser = isBrowserNavigation(req);
    try {
      assertSessionId(id);
    } catch (error) {
      return failureResponse(error, { id, browser });
    }
    if (rest === undefined) {
      return new Response(null, {
        status: 308,
        headers: { location: `/session/${id}/${ctx.url.search}` },
      });
    }
    let upstream: { path?: string; editHeaders?: (headers: Headers) => void } = {};
    if (this.#options.access) {
      const access = await authorizeSession(
        req,
        { id, url: ctx.url, secure: ctx.secure, ownHost },
        this.#options.access,
      );
      if (!access.ok) return access.response;
      upstream = access;
    }
    let entry = this.#sessions.get(id);
    if (!entry?.active) {
      if (entry?.process.state === "crashed" && entry.process.error) {
        return failureResponse(entry.process.error, { id, browser });
      }
      if (!this.#options.startOnRequest || this.#closed) {
        const error = new GatewayError(
          this.#closed ? "ERR_GATEWAY_CLOSED" : "ERR_NOT_STARTED",
          this.#closed
            ? "The gateway is shutting down"
            : `Session "${id}" is not running: start it through the gateway API`,
        );
        return failureResponse(error, { id, browser });
      }
      try {
        entry = this.#activate(id);
      } catch (error) {
        return failureResponse(error, { id, browser });
      }
    }
    entry.lastActivity = this.#now();
    if (entry.process.state !== "ready") {
      if (browser) return startingPage(id, entry.process.logs());
      const waiting = entry;
      // The supervisor kills a process not ready within readyTimeoutMs; the margin lets its
      // error, which carries the last log lines, win over this generic timeout.
      const notReady = await awaitReady(async () => {
        await waiting.spawning;
        await waiting.process.ready();
      }, { id, limitMs: this.#options.readyTimeoutMs + 1000, signal: req.signal });
      if (notReady) return notReady;
    }
    const session = entry;
    this.#counts.proxied++;
    return proxyRequest(req, { port: session.port }, {
      forwardedFor: ctx.remoteAddress,
      forwardedProto: ctx.secure ? "https" : "http",
      forwardedHost: ctx.host,
      signal: session.abort.signal,
      onWebSocket: (socket) => this.#track(session, socket),
      path: upstream.path,
      editHeaders: upstream.editHeaders,
    });
  }

  /** Returns the running entry for `id`, or starts a new process for it. Synchronous. */
  #activate(id: string): Entry {
    if (this.#closed) throw new GatewayError("ERR_GATEWAY_CLOSED", "The gateway is closed");
    assertSessionId(id);
    const existing = this.#sessions.get(id);
    if (existing?.active) return existing;
    const running = [...this.#sessions.values()].filter((e) => e.active);
    if (running.length >= this.#options.maxSessions) {
      throw new GatewayError(
        "ERR_MAX_SESSIONS",
        `Cannot start session "${id}": limit of ${this.#options.maxSessions} concurrent ` +
          "sessions reached. Stop one or raise max_sessions",
      );
    }
    const port = pickPort(this.#options.portRange, new Set(running.map((e) => e.port)));
    const process = this.#processFor(id, port);
    const now = this.#now();
    const spawning = process.start();
    spawning.catch(() => {}); // reported through the state listener and to whoever awaits it
    const entry: Entry = Object.assign(
      existing ?? { id, sockets: 0, abort: new AbortController() },
      { process, port, active: true, spawning, startedAt: now, lastActivity: now },
    );
    if (entry.abort.signal.aborted) entry.abort = new AbortController();
    this.#sessions.set(id, entry);
    this.#prune();
    this.#wire(entry, process);
    return entry;
  }

  #processFor(id: string, port: number): SessionProcess {
    const o = this.#options;
    const expand = (value: string, dir: string) =>
      value === "" ? "" : expandTemplate([value], { id, port, dir })[0];
    const cwd = o.cwd === undefined ? undefined : expand(o.cwd, "");
    const dir = cwd ?? Deno.cwd();
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(o.env ?? {})) env[key] = expand(value, dir);
    return new SessionProcess({
      id,
      port,
      command: expandTemplate(o.command, { id, port, dir }),
      cwd,
      env,
      readiness: o.readiness.type === "http"
        ? { type: "http", path: o.readiness.path.replaceAll("{id}", id) }
        : { type: "tcp" },
      readyTimeoutMs: o.readyTimeoutMs,
      restart: o.restart,
      now: this.#now,
    });
  }

  #wire(entry: Entry, process: SessionProcess): void {
    const { log } = this.#options;
    process.onLog((line) => {
      for (const { id, fn } of this.#logListeners) {
        if (id === undefined || id === entry.id) {
          fn(entry.id, line);
        }
      }
    });
    process.onState((state, detail) => {
      if (entry.process !== process) return;
      if (state === "starting") this.#counts.processStarts++;
      if (state === "crashed") this.#counts.crashes++;
      if (state === "crashed" && detail.restartInMs === undefined) {
        entry.active = false;
        log.error("Session failed", { id: entry.id, error: detail.error?.message });
      } else if (state === "crashed") {
        log.warn("Session crashed", { id: entry.id, restartInMs: detail.restartInMs });
      } else if (state === "ready") {
        log.info("Session ready", { id: entry.id, port: entry.port, pid: process.pid });
        const exposed = exposedListeners(entry.port);
        if (exposed.length > 0) {
          log.warn(
            "Session listens beyond loopback, where clients can reach it without a token: " +
              "bind it to 127.0.0.1 in gateway.command (e.g. --host 127.0.0.1)",
            { id: entry.id, port: entry.port, addresses: exposed.join(", ") },
          );
        }
      }
      for (const fn of this.#stateListeners) fn(entry.id, state, detail);
    });
  }

  #track(entry: Entry, socket: WebSocket): void {
    entry.sockets++;
    entry.lastActivity = this.#now();
    socket.addEventListener("message", () => entry.lastActivity = this.#now());
    socket.addEventListener("close", () => {
      entry.sockets--;
      entry.lastActivity = this.#now();
    }, { once: true });
  }

  #sweep(): void {
    const now = this.#now();
    for (const entry of this.#sessions.values()) {
      const state = entry.process.state;
      if (!entry.active || entry.sockets > 0 || (state !== "ready" && state !== "crashed")) {
        continue;
      }
      const idleMs = now - entry.lastActivity;
      if (idleMs < this.#options.idleTimeoutMs) continue;
      this.#options.log.info("Stopping idle session", { id: entry.id, idleMs });
      this.stop(entry.id).catch((error) =>
        this.#options.log.error("Cannot stop idle session", { id: entry.id, error: String(error) })
      );
    }
  }

  /** Forgets the least recently used stopped sessions beyond `maxSessions` of them. */
  #prune(): void {
    const idle = [...this.#sessions.values()].filter((e) => !e.active && e.sockets === 0);
    idle.sort((a, b) => a.lastActivity - b.lastActivity);
    for (const entry of idle.slice(0, Math.max(0, idle.length - this.#options.maxSessions))) {
      this.#sessions.delete(entry.id);
    }
  }

  #entry(id: string): Entry {
    const entry = this.#sessions.get(id);
    if (!entry) throw new GatewayError("ERR_UNKNOWN_SESSION", `No session "${id}": start it first`);
    return entry;
  }

  #info(entry: Entry): SessionInfo {
    const { process } = entry;
    const info: SessionInfo = {
      id: entry.id,
      state: entry.active && process.state === "stopped" ? "starting" : process.state,
      port: entry.active ? entry.port : null,
      pid: process.pid ?? null,
      startedAt: entry.startedAt,
      lastActivity: entry.lastActivity,
    };
    if (process.error) info.error = { code: process.error.code, message: process.error.message };
    return info;
  }
}
