/**
 * `GET /switchyard/bootstrap.json`: where each transport is, built for the
 * host the client asked for (docs/protocol.md).
 *
 * @module
 */

/** Paths of the Switchyard endpoints. */
export const PATHS = {
  bootstrap: "/switchyard/bootstrap.json",
  websocket: "/switchyard/ws",
  sse: "/switchyard/sse",
  webtransport: "/switchyard/wt",
} as const;

/** The body of `bootstrap.json`. */
export interface BootstrapDocument {
  /** Server version. */
  version: string;
  /** Largest frame the server accepts, in bytes. */
  maxMessageBytes: number;
  /** The transports offered; one the server does not offer is absent. */
  transports: {
    webtransport?: { url: string; certificateHashes: string[] };
    websocket?: { url: string };
    sse?: { url: string };
  };
}

/** What {@linkcode bootstrapDocument} builds from. */
export interface BootstrapInput {
  /** Server version. */
  version: string;
  /** `limits.max_message_bytes`. */
  maxMessageBytes: number;
  /** The request came over TLS (or through a proxy that terminated TLS). */
  secure: boolean;
  /** `Host` the client used, e.g. `localhost:4480` or `[::1]:4433`. */
  host: string;
  /** UDP port of WebTransport; absent without TLS. */
  quicPort?: number;
  /**
   * IP address the QUIC endpoint is bound to. For a page on `localhost` the
   * WebTransport URL names this address instead: browsers may try `::1` first
   * for QUIC to "localhost", where a socket bound to 127.0.0.1 never answers.
   */
  quicAddress?: string;
  /** Base64 SHA-256 hashes of the current (and previous) leaf certificate. */
  certificateHashes?: readonly string[];
}

/**
 * Build the bootstrap document. WebSocket and SSE URLs use the request's
 * scheme and host; WebTransport uses the host's name with the QUIC port.
 *
 * @example
 * ```ts
 * import { bootstrapDocument } from "./mod.ts";
 * const doc = bootstrapDocument({
 *   version: "0.1.0", maxMessageBytes: 65_536, secure: false, host: "localhost:4480",
 *   quicPort: 4433, certificateHashes: ["q5Zr…"],
 * });
 * doc.transports.websocket?.url; // "ws://localhost:4480/switchyard/ws"
 * doc.transports.webtransport?.url; // "https://localhost:4433/switchyard/wt"
 * // With quicAddress: "127.0.0.1", a page on localhost gets "https://127.0.0.1:4433/switchyard/wt".
 * ```
 */
export function bootstrapDocument(input: BootstrapInput): BootstrapDocument {
  const { secure, host } = input;
  const doc: BootstrapDocument = {
    version: input.version,
    maxMessageBytes: input.maxMessageBytes,
    transports: {},
  };
  if (input.quicPort !== undefined && input.certificateHashes?.length) {
    let hostname = new URL(`http://${host}`).hostname;
    const bound = input.quicAddress;
    if (hostname === "localhost" && bound && bound !== "0.0.0.0" && bound !== "::") {
      hostname = bound.includes(":") ? `[${bound}]` : bound;
    }
    doc.transports.webtransport = {
      url: `https://${hostname}:${input.quicPort}${PATHS.webtransport}`,
      certificateHashes: [...input.certificateHashes],
    };
  }
  doc.transports.websocket = { url: `${secure ? "wss" : "ws"}://${host}${PATHS.websocket}` };
  doc.transports.sse = { url: `${secure ? "https" : "http"}://${host}${PATHS.sse}` };
  return doc;
}
