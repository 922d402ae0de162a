/**
 * Discovery: `GET /switchyard/bootstrap.json` says which transports the server
 * offers and where.
 *
 * This module is browser compatible.
 *
 * @module
 */

import { SwitchyardClientError } from "./client_error.ts";
import { TRANSPORT_KINDS, type TransportEndpoint, type TransportKind } from "./transport.ts";

/**
 * The bootstrap document (docs/protocol.md, "Discovery").
 *
 * @example
 * ```ts
 * import type { Bootstrap } from "./mod.ts";
 * const boot: Bootstrap = { transports: { websocket: { url: "ws://localhost:4480/switchyard/ws" } } };
 * ```
 */
export interface Bootstrap {
  /** The server's version. */
  version?: string;
  /** Largest frame the server accepts (bytes); larger requests are refused locally. */
  maxMessageBytes?: number;
  /** Offered transports; a kind the server does not offer is absent. */
  transports: Partial<Record<TransportKind, TransportEndpoint>>;
}

/**
 * The bootstrap URL for a server base URL.
 *
 * @example
 * ```ts
 * import { bootstrapUrl } from "./bootstrap.ts";
 * bootstrapUrl("http://localhost:4480"); // "http://localhost:4480/switchyard/bootstrap.json"
 * ```
 */
export function bootstrapUrl(baseUrl: string): string {
  return new URL("/switchyard/bootstrap.json", baseUrl).href;
}

/**
 * Check a parsed bootstrap document, keeping only well-formed transport entries.
 *
 * @throws {SwitchyardClientError} `ERR_BOOTSTRAP` when it has no `transports` object.
 * @example
 * ```ts
 * import { parseBootstrap } from "./bootstrap.ts";
 * parseBootstrap({ transports: { websocket: { url: "ws://localhost:4480/switchyard/ws" } } });
 * ```
 */
export function parseBootstrap(value: unknown): Bootstrap {
  const doc = value as { transports?: Record<string, unknown> } | null;
  if (typeof doc !== "object" || doc === null || typeof doc.transports !== "object") {
    throw new SwitchyardClientError(
      "ERR_BOOTSTRAP",
      'Invalid bootstrap: expected an object with "transports"',
    );
  }
  const transports: Bootstrap["transports"] = {};
  for (const kind of TRANSPORT_KINDS) {
    const t = doc.transports?.[kind] as TransportEndpoint | undefined;
    if (!t || typeof t.url !== "string") continue;
    const hashes = Array.isArray(t.certificateHashes)
      ? t.certificateHashes.filter((h): h is string => typeof h === "string")
      : undefined;
    const endpoint: TransportEndpoint = hashes
      ? { url: t.url, certificateHashes: hashes }
      : { url: t.url };
    const max = (doc as { maxMessageBytes?: unknown }).maxMessageBytes;
    if (typeof max === "number" && max > 0) endpoint.maxMessageBytes = max;
    transports[kind] = endpoint;
  }
  return { ...(doc as object), transports } as Bootstrap;
}

/**
 * Fetch and check the bootstrap document of the server at `baseUrl`.
 *
 * @example
 * ```ts
 * import { fetchBootstrap } from "./bootstrap.ts";
 * const boot = await fetchBootstrap("http://localhost:4480", { timeoutMs: 3000 });
 * Object.keys(boot.transports); // e.g. ["webtransport", "websocket", "sse"]
 * ```
 */
export async function fetchBootstrap(
  baseUrl: string,
  options: { signal?: AbortSignal; timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<Bootstrap> {
  const url = bootstrapUrl(baseUrl);
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const abort = new AbortController();
  const onAbort = () => abort.abort(options.signal?.reason);
  options.signal?.addEventListener("abort", onAbort);
  const timer = options.timeoutMs === undefined
    ? undefined
    : setTimeout(() => abort.abort(), options.timeoutMs);
  try {
    let res: Response;
    try {
      res = await fetchFn(url, { signal: abort.signal, cache: "no-store" });
    } catch (err) {
      throw new SwitchyardClientError(
        "ERR_BOOTSTRAP",
        `Cannot fetch ${url}: ${(err as Error)?.message ?? err}`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new SwitchyardClientError("ERR_BOOTSTRAP", `Cannot fetch ${url}: HTTP ${res.status}`);
    }
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      throw new SwitchyardClientError("ERR_BOOTSTRAP", `Invalid bootstrap at ${url}: not JSON`);
    }
    return parseBootstrap(json);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}
