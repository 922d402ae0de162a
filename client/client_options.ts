/**
 * Options, states and events of {@linkcode SwitchyardClient}.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { Bootstrap } from "./bootstrap.ts";
import type { SwitchyardClientError } from "./client_error.ts";
import type { Publication } from "./subscription.ts";
import type { StorageLike } from "./transport_cache.ts";
import { TRANSPORT_KINDS, type TransportKind, type TransportOpener } from "./transport.ts";
import { defaultStorage } from "./transport_cache.ts";

/**
 * What `new SwitchyardClient(url, options)` accepts.
 *
 * @example
 * ```ts
 * import { SwitchyardClient } from "./mod.ts";
 * const client = new SwitchyardClient("https://example.com", {
 *   getToken: () => fetch("/token").then((r) => r.text()),
 *   transports: ["websocket", "sse"],
 *   attemptTimeoutMs: 2000,
 * });
 * ```
 */
export interface ClientOptions {
  /** Connection token (JWT). */
  token?: string;
  /** Called for a first token when `token` is absent, after `ERR_TOKEN_EXPIRED`, and before expiry (sent as `refresh`). */
  getToken?: () => Promise<string>;
  /** Transports to try, best first. Default `["webtransport", "websocket", "sse"]`. */
  transports?: TransportKind[];
  /** Time one transport gets to reach `connected` (ms). Default 3000. */
  attemptTimeoutMs?: number;
  /** Where the winning transport is remembered per origin; `null` disables. Default `localStorage` when present. */
  storage?: StorageLike | null;
  /** How long the winner is remembered (ms). Default 24 h. */
  rememberMs?: number;
  /** How often to try a better transport than the current one (ms); 0 disables. Default 60 000. */
  upgradeIntervalMs?: number;
  /** Reconnect delays: exponential with full jitter. Default 250 ms .. 10 s. */
  backoff?: { minMs?: number; maxMs?: number };
  /** Sent as `client` in `connect` (logs on the server). Default "switchyard-client". */
  name?: string;
  /** Use this instead of fetching `/switchyard/bootstrap.json` (tests, embedding). */
  bootstrap?: Bootstrap;
  /** Tests: open transports with this instead of the real adapters. */
  _transportFactory?: TransportOpener;
  /** Tests: which kinds this environment supports (default: feature detection, or all with `_transportFactory`). */
  _supported?: (kind: TransportKind) => boolean;
  /** Tests: `fetch` for the bootstrap. */
  _fetch?: typeof fetch;
}

/**
 * Where the client is.
 *
 * - `idle`: created, nothing attempted yet;
 * - `connecting`: first connection under way;
 * - `connected`: a transport reached `connected`;
 * - `reconnecting`: lost a connection, trying again with backoff;
 * - `closed`: `close()` was called, or the server said not to come back (see the `error` event).
 *
 * @example
 * ```ts
 * import { SwitchyardClient, type ClientState } from "./mod.ts";
 * const client = new SwitchyardClient("http://localhost:4480");
 * client.on("state", (s: ClientState) => console.log("now", s));
 * ```
 */
export type ClientState = "idle" | "connecting" | "connected" | "reconnecting" | "closed";

/**
 * Events of `client.on()` and their payloads.
 *
 * @example
 * ```ts
 * import { SwitchyardClient } from "./mod.ts";
 * const client = new SwitchyardClient("http://localhost:4480");
 * client.on("fallback", ({ from, to, reason }) => console.log(`${from} failed (${reason}), trying ${to}`));
 * client.on("upgrade", ({ from, to }) => console.log(`switched ${from} → ${to}`));
 * client.on("error", (err) => console.log(err.code));
 * ```
 */
export interface ClientEvents {
  /** The client's state changed. */
  state: ClientState;
  /** A transport failed or timed out and the next one is tried. */
  fallback: { from: TransportKind; to: TransportKind; reason: string };
  /** The session moved to another transport without loss (periodic upgrade or `forceTransport`). */
  upgrade: { from: TransportKind; to: TransportKind };
  /** Something the application should know: the client stopped, a subscription was removed, `getToken` failed… */
  error: SwitchyardClientError;
  /** Every publication delivered, on any channel. */
  publication: Publication;
  /** Every recovery outcome, on any channel (see `SubscribeOptions.onRecovery`). */
  recovery: { channel: string; recovered: boolean };
}

/**
 * Options with every default filled in.
 *
 * @example
 * ```ts
 * import { resolveOptions, type ResolvedOptions } from "./client_options.ts";
 * const o: ResolvedOptions = resolveOptions({ transports: ["websocket"] });
 * ```
 */
export interface ResolvedOptions {
  token?: string;
  getToken?: () => Promise<string>;
  transports: TransportKind[];
  attemptTimeoutMs: number;
  storage: StorageLike | null;
  rememberMs: number;
  upgradeIntervalMs: number;
  backoff: { minMs: number; maxMs: number };
  name: string;
  bootstrap?: Bootstrap;
  opener?: TransportOpener;
  supported?: (kind: TransportKind) => boolean;
  fetch?: typeof fetch;
}

/**
 * Fill in defaults and check values.
 *
 * @example
 * ```ts
 * import { resolveOptions } from "./client_options.ts";
 * resolveOptions({}).attemptTimeoutMs; // 3000
 * ```
 */
export function resolveOptions(o: ClientOptions): ResolvedOptions {
  const transports = o.transports ?? [...TRANSPORT_KINDS];
  for (const t of transports) {
    if (!TRANSPORT_KINDS.includes(t)) {
      throw new TypeError(
        `Unknown transport "${t}": use ${TRANSPORT_KINDS.map((k) => `"${k}"`).join(", ")}`,
      );
    }
  }
  return {
    token: o.token,
    getToken: o.getToken,
    transports,
    attemptTimeoutMs: positive(o.attemptTimeoutMs, 3000, "attemptTimeoutMs"),
    storage: o.storage === undefined ? defaultStorage() : o.storage,
    rememberMs: positive(o.rememberMs, 86_400_000, "rememberMs"),
    upgradeIntervalMs: nonNegative(o.upgradeIntervalMs, 60_000, "upgradeIntervalMs"),
    backoff: {
      minMs: nonNegative(o.backoff?.minMs, 250, "backoff.minMs"),
      maxMs: nonNegative(o.backoff?.maxMs, 10_000, "backoff.maxMs"),
    },
    name: o.name ?? "switchyard-client",
    bootstrap: o.bootstrap,
    opener: o._transportFactory,
    supported: o._supported,
    fetch: o._fetch,
  };
}

function nonNegative(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) {
    throw new TypeError(`Invalid option ${name}: ${value}: use a number of ms ≥ 0`);
  }
  return value;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const v = nonNegative(value, fallback, name);
  if (v === 0) throw new TypeError(`Invalid option ${name}: 0: use a number of ms > 0`);
  return v;
}
