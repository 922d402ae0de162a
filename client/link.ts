/**
 * One transport connection of the client, from opening through `connected`
 * to its end.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { DisconnectFrame } from "../src/core/protocol.ts";
import { type ClientErrorCode, closeError, SwitchyardClientError } from "./client_error.ts";
import type {
  ClientTransport,
  TransportEndpoint,
  TransportKind,
  TransportOpener,
} from "./transport.ts";
import type { SubscriptionSnapshot } from "./subscriptions.ts";

/**
 * What a link reports to the client.
 *
 * @example
 * ```ts
 * import type { LinkHost } from "./link.ts";
 * const host: LinkHost = { frame: (_link, text) => console.log(text), lost: () => {} };
 * ```
 */
export interface LinkHost {
  /** A frame arrived (any phase before `closed`). */
  frame(link: Link, text: string): void;
  /** A connected link ended without `close()`; `code`/`reason` prefer the `disconnect` frame's. */
  lost(link: Link, code: number, reason: string): void;
}

/**
 * Where a link is in its life.
 *
 * @example
 * ```ts
 * import type { LinkPhase } from "./link.ts";
 * const phase: LinkPhase = "connecting";
 * ```
 */
export type LinkPhase = "opening" | "connecting" | "connected" | "closed";

/**
 * A transport connection plus the per-connection protocol state: the id of its
 * `connect`, the subscriptions that frame carried, liveness timestamps and the
 * last `disconnect` frame.
 *
 * @example
 * ```ts
 * import { Link } from "./link.ts";
 * import { openTransport } from "./transports/mod.ts";
 * const link = new Link("websocket", { url: "ws://localhost:4480/switchyard/ws" }, {
 *   frame: (_link, text) => console.log(text),
 *   lost: (_link, code) => console.log("lost", code),
 * });
 * await link.attempt({
 *   opener: openTransport,
 *   timeoutMs: 3000,
 *   connectFrame: () => '{"type":"connect","id":1}',
 * }); // resolves when the host calls link.connected()
 * ```
 */
export class Link {
  readonly kind: TransportKind;
  readonly endpoint: TransportEndpoint;
  phase: LinkPhase = "opening";
  /** `id` of the `connect` frame sent on this link. */
  connectId = -1;
  /** The subscriptions that `connect` carried. */
  snapshot: SubscriptionSnapshot | null = null;
  /** When a frame last arrived (ms). */
  lastReceived = 0;
  /** When our unanswered `ping` went out, if one is outstanding. */
  pingSentAt: number | null = null;
  /** When our last `ping` went out. */
  lastPingSent = 0;
  /** The server's last `disconnect` frame on this link. */
  disconnect: DisconnectFrame | null = null;
  #host: LinkHost;
  #transport: ClientTransport | null = null;
  #settle: { resolve(): void; reject(e: Error): void } | null = null;
  #abort = new AbortController();

  constructor(kind: TransportKind, endpoint: TransportEndpoint, host: LinkHost) {
    this.kind = kind;
    this.endpoint = endpoint;
    this.#host = host;
  }

  /**
   * Open the transport, send `connectFrame()` (built at that moment, so it
   * carries the freshest positions) and wait until the host calls
   * {@linkcode Link.connected}. Rejects on timeout, on failure or on `close()`,
   * with the server's close code when it closed the connection.
   */
  attempt(options: {
    opener: TransportOpener;
    timeoutMs: number;
    connectFrame: (link: Link) => string;
  }): Promise<void> {
    const settled = new Promise<void>((resolve, reject) => {
      this.#settle = { resolve, reject };
    });
    const timer = setTimeout(() => {
      this.#fail(
        new SwitchyardClientError(
          "ERR_CONNECT_TIMEOUT",
          `${this.kind} did not connect within ${options.timeoutMs} ms`,
        ),
      );
    }, options.timeoutMs);
    options.opener(this.kind, {
      endpoint: this.endpoint,
      signal: this.#abort.signal,
      onFrame: (text) => {
        if (this.phase !== "closed") this.#host.frame(this, text);
      },
      onClose: (code, reason) => this.#closed(code, reason),
    }).then(
      (transport) => {
        if (this.phase === "closed") return transport.close();
        this.#transport = transport;
        this.phase = "connecting";
        this.lastReceived = Date.now();
        this.send(options.connectFrame(this));
      },
      (err) => {
        const e = err instanceof SwitchyardClientError ? err : new SwitchyardClientError(
          "ERR_TRANSPORT_FAILED",
          `${this.kind} failed to open: ${(err as Error)?.message ?? err}`,
        );
        this.#fail(e);
      },
    );
    return settled.finally(() => clearTimeout(timer));
  }

  /** The host saw this link's `connected`: the attempt succeeded. */
  connected(): void {
    if (this.phase !== "connecting") return;
    this.phase = "connected";
    this.#settle?.resolve();
    this.#settle = null;
  }

  /** Send one frame; dropped when the link is not open. */
  send(text: string): boolean {
    if (!this.#transport || this.phase === "closed") return false;
    this.#transport.send(text);
    return true;
  }

  /** Close from our side: no `lost` follows; a pending attempt rejects with `code`. */
  close(code: ClientErrorCode = "ERR_CLIENT_CLOSED", message = "Closed by the client"): void {
    if (this.phase === "closed") return;
    this.#fail(new SwitchyardClientError(code, message));
  }

  #fail(err: Error): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.#abort.abort(err);
    this.#transport?.close();
    this.#settle?.reject(err);
    this.#settle = null;
  }

  #closed(code: number, reason: string): void {
    if (this.phase === "closed") return;
    const d = this.disconnect;
    const c = d?.code ?? code;
    const r = d?.reason ?? reason;
    if (this.phase !== "connected") {
      this.phase = "closed";
      this.#abort.abort();
      this.#settle?.reject(closeError(c, r, d?.error));
      this.#settle = null;
      return;
    }
    this.phase = "closed";
    this.#host.lost(this, c, r);
  }
}
