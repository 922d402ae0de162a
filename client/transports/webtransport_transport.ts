/**
 * WebTransport transport: the client opens one bidirectional stream and both
 * sides write 4-byte big-endian length-prefixed UTF-8 frames on it.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { ClientTransport, TransportOpenOptions } from "../transport.ts";
import { SwitchyardClientError } from "../client_error.ts";
import { encodeLengthPrefixed, FrameParser } from "./frame_parser.ts";

/**
 * Decode base64 (standard alphabet, padding optional) to bytes.
 *
 * @example
 * ```ts
 * import { base64ToBytes } from "./webtransport_transport.ts";
 * base64ToBytes("AQID"); // Uint8Array [1, 2, 3]
 * ```
 */
export function base64ToBytes(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Open a WebTransport session and its one bidirectional stream; resolves once
 * the stream is ready. Certificate hashes from the bootstrap are pinned with
 * `serverCertificateHashes`.
 *
 * @example
 * ```ts
 * import { openWebTransport } from "./webtransport_transport.ts";
 * const t = await openWebTransport({
 *   endpoint: { url: "https://localhost:4433/switchyard/wt", certificateHashes: ["…base64…"] },
 *   signal: AbortSignal.timeout(3000),
 *   onFrame: (frame) => console.log(frame),
 *   onClose: (code, reason) => console.log(code, reason),
 * });
 * t.send('{"type":"connect","id":1}');
 * ```
 */
export async function openWebTransport(options: TransportOpenOptions): Promise<ClientTransport> {
  const { endpoint, signal } = options;
  signal.throwIfAborted();
  const hashes = endpoint.certificateHashes ?? [];
  const wt = new WebTransport(
    endpoint.url,
    hashes.length > 0
      ? {
        serverCertificateHashes: hashes.map((h) => ({
          algorithm: "sha-256",
          value: base64ToBytes(h),
        })),
      }
      : {},
  );
  let done = false;
  const closeSession = () => {
    try {
      wt.close();
    } catch { /* not connected or already closed */ }
  };
  const onAbort = () => {
    if (!done) closeSession();
  };
  signal.addEventListener("abort", onAbort);
  let writer: WritableStreamDefaultWriter<Uint8Array>;
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    await wt.ready;
    const stream = await wt.createBidirectionalStream();
    signal.throwIfAborted();
    writer = stream.writable.getWriter();
    reader = stream.readable.getReader();
  } catch (err) {
    signal.removeEventListener("abort", onAbort);
    done = true;
    closeSession();
    wt.closed.catch(() => {});
    if (signal.aborted) throw signal.reason;
    throw new SwitchyardClientError(
      "ERR_TRANSPORT_FAILED",
      `WebTransport to ${endpoint.url} failed to open: ${(err as Error)?.message ?? err}`,
    );
  }
  signal.removeEventListener("abort", onAbort);

  // The end is reported once both are known, or after a grace period: the session's close
  // code says why, and the stream may still hold frames sent before the close (a disconnect).
  let closeInfo: { code: number; reason: string } | null = null;
  let readerDone = false;
  let ended = false;
  let grace: ReturnType<typeof setTimeout> | undefined;
  const end = (code: number, reason: string) => {
    clearTimeout(grace);
    if (ended) return;
    ended = true;
    if (!done) {
      done = true;
      options.onClose(code, reason);
    }
    reader.cancel().catch(() => {});
    closeSession();
  };
  const settle = (why: string) => {
    if (ended) return;
    if (readerDone && closeInfo) return end(closeInfo.code, closeInfo.reason);
    clearTimeout(grace);
    grace = setTimeout(
      () => end(closeInfo?.code ?? 1006, closeInfo?.reason ?? why),
      closeInfo ? 250 : 1000,
    );
  };
  wt.closed.then(
    (info) => {
      closeInfo = { code: info?.closeCode ?? 1006, reason: info?.reason ?? "" };
      settle("");
    },
    (err) => {
      closeInfo = { code: 1006, reason: String((err as Error)?.message ?? err) };
      settle("");
    },
  );
  (async () => {
    const parser = new FrameParser();
    try {
      while (true) {
        const { value, done: eof } = await reader.read();
        if (eof) break;
        for (const frame of parser.push(value)) {
          if (done) return;
          options.onFrame(frame);
        }
      }
    } catch (err) {
      if (err instanceof SwitchyardClientError) return end(1007, err.message);
    }
    readerDone = true;
    settle("WebTransport stream ended");
  })();

  return {
    kind: "webtransport",
    send(frame) {
      if (done) return;
      writer.write(encodeLengthPrefixed(frame)).catch(() => settle("WebTransport write failed"));
    },
    close() {
      if (done) return;
      done = true;
      ended = true;
      clearTimeout(grace);
      const flushed = setTimeout(closeSession, 1000);
      writer.close().catch(() => {}).finally(() => {
        clearTimeout(flushed);
        reader.cancel().catch(() => {});
        closeSession();
      });
    },
  };
}
