/**
 * The QUIC side of the server: accepts WebTransport sessions on a UDP port and
 * swaps its certificate in place.
 *
 * @module
 */

import type { Logger } from "../core/hub.ts";
import type { ServerWebTransport } from "../transports/webtransport/mod.ts";

/** QUIC transport settings: a silent peer is dropped after 10 s; keep-alives every 2 s. */
const QUIC_OPTIONS = { alpnProtocols: ["h3"], maxIdleTimeout: 10_000, keepAliveInterval: 2_000 };

/** Called for each WebTransport session, with the peer's IP address. */
export type SessionHandler = (wt: ServerWebTransport, remoteAddress: string) => void;

/**
 * One `Deno.QuicEndpoint` (the bound UDP socket) and its current listener.
 * `listen()` again with a new certificate replaces the listener: sessions
 * already open stay on the endpoint with the certificate they started with.
 */
export class QuicListener {
  readonly endpoint: Deno.QuicEndpoint;
  readonly #onSession: SessionHandler;
  readonly #log: Logger;
  #listener: Deno.QuicListener | undefined;
  #closed = false;

  constructor(endpoint: Deno.QuicEndpoint, onSession: SessionHandler, log: Logger) {
    this.endpoint = endpoint;
    this.#onSession = onSession;
    this.#log = log;
  }

  /** The IP address the UDP socket is bound to, e.g. `127.0.0.1`. */
  get address(): string {
    return this.endpoint.addr.hostname;
  }

  /** The UDP port. */
  get port(): number {
    return this.endpoint.addr.port;
  }

  /** Accept sessions with this certificate from now on. */
  listen(cert: string, key: string): void {
    if (this.#closed) return;
    this.#listener?.stop();
    const listener = this.endpoint.listen({ cert, key, ...QUIC_OPTIONS });
    this.#listener = listener;
    this.#acceptLoop(listener);
  }

  /** Stop accepting; open sessions continue. */
  stop(): void {
    this.#listener?.stop();
    this.#listener = undefined;
  }

  /** Close the endpoint: every session on it ends at once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stop();
    try {
      this.endpoint.close({ closeCode: 0, reason: "server closed" });
    } catch {
      // Already closed.
    }
  }

  async #acceptLoop(listener: Deno.QuicListener): Promise<void> {
    for (;;) {
      let incoming: Deno.QuicIncoming;
      try {
        incoming = await listener.incoming();
      } catch {
        return; // stopped or closed
      }
      // Each handshake runs on its own so one slow client does not hold up the others.
      // (Reading a getter of QuicIncoming destroys it: the address comes from the QuicConn.)
      incoming.accept<false>().then(async (conn) => {
        const remoteAddress = conn.remoteAddr.hostname;
        let wt: ServerWebTransport;
        try {
          wt = await Deno.upgradeWebTransport(conn);
        } catch (err) {
          this.#log.debug("WebTransport upgrade failed", { remoteAddress, error: String(err) });
          try {
            conn.close({ closeCode: 0, reason: "not a WebTransport session" });
          } catch {
            // Already gone.
          }
          return;
        }
        this.#onSession(wt, remoteAddress);
      }, (err) => this.#log.debug("QUIC handshake failed", { error: String(err) }));
    }
  }
}
