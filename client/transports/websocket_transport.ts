/**
 * WebSocket transport: one text message per frame.
 *
 * This module is browser compatible.
 *
 * @module
 */

import type { ClientTransport, TransportOpenOptions } from "../transport.ts";
import { SwitchyardClientError } from "../client_error.ts";

/**
 * Open a WebSocket to `options.endpoint.url`; resolves once it is open.
 *
 * @example
 * ```ts
 * import { openWebSocket } from "./websocket_transport.ts";
 * const t = await openWebSocket({
 *   endpoint: { url: "ws://localhost:4480/switchyard/ws" },
 *   signal: AbortSignal.timeout(3000),
 *   onFrame: (frame) => console.log(frame),
 *   onClose: (code, reason) => console.log(code, reason),
 * });
 * t.send('{"type":"connect","id":1}');
 * ```
 */
export function openWebSocket(options: TransportOpenOptions): Promise<ClientTransport> {
  const { signal } = options;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(options.endpoint.url);
    let open = false;
    let done = false;
    const finish = () => {
      done = true;
      ws.onopen =
        ws.onmessage =
        ws.onerror =
        ws.onclose =
          null;
      signal.removeEventListener("abort", onAbort);
    };
    const onAbort = () => {
      if (open) return;
      finish();
      ws.close();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort);
    const transport: ClientTransport = {
      kind: "websocket",
      send(frame) {
        if (!done && ws.readyState === WebSocket.OPEN) ws.send(frame);
      },
      close() {
        if (done) return;
        finish();
        ws.close();
      },
    };
    ws.onopen = () => {
      open = true;
      signal.removeEventListener("abort", onAbort);
      resolve(transport);
    };
    ws.onmessage = (ev) => {
      // Binary messages are not frames; the server never sends them.
      if (typeof ev.data === "string") options.onFrame(ev.data);
    };
    ws.onerror = () => {};
    ws.onclose = (ev) => {
      const wasOpen = open;
      finish();
      if (wasOpen) options.onClose(ev.code || 1006, ev.reason);
      else {
        reject(
          new SwitchyardClientError(
            "ERR_TRANSPORT_FAILED",
            `WebSocket to ${options.endpoint.url} failed to open (close code ${ev.code})`,
            ev.code,
          ),
        );
      }
    };
  });
}
