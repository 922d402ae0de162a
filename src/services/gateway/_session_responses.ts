/**
 * What the gateway answers instead of proxying: failures as JSON (or HTML for browsers) with
 * a status per error code, and the bounded wait for a session to become ready.
 *
 * @module
 */

import { jsonError } from "../../http/headers.ts";
import { GatewayError, type GatewayErrorCode } from "./_gateway_error.ts";
import { failurePage } from "./_session_pages.ts";

/** Status per code; any other code is a failure to start or run (502). */
const STATUS: Partial<Record<GatewayErrorCode, number>> = {
  ERR_BAD_SESSION_ID: 400,
  ERR_NOT_STARTED: 404,
  ERR_UNKNOWN_SESSION: 404,
  ERR_MAX_SESSIONS: 503,
  ERR_PORTS_EXHAUSTED: 503,
  ERR_STOPPED: 503,
  ERR_GATEWAY_CLOSED: 503,
};

/** The response for a failure: JSON `{error, message}`, or an HTML page for a browser. */
export function failureResponse(error: unknown, to: { id: string; browser: boolean }): Response {
  if (!(error instanceof GatewayError)) {
    return jsonError(500, "ERR_INTERNAL", `Session "${to.id}" failed: ${String(error)}`);
  }
  const status = STATUS[error.code] ?? 502;
  if (to.browser) return failurePage(status, to.id, `${error.code}: ${error.message}`);
  return jsonError(status, error.code, error.message);
}

/**
 * Waits for `ready` (the session's spawn, then its readiness) for at most `limitMs`.
 * Resolves with undefined when ready, else with the response to send: the failure (502 with
 * the process's last lines), 504 `ERR_READY_TIMEOUT`, or 499 when `signal` (the client) aborts.
 */
export async function awaitReady(
  ready: () => Promise<void>,
  options: { id: string; limitMs: number; signal: AbortSignal },
): Promise<Response | undefined> {
  const { id, limitMs, signal } = options;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort = () => {};
  const gaveUp = new Promise<Response>((resolve) => {
    timer = setTimeout(() => {
      const message = `Session "${id}" was not ready within ${limitMs} ms`;
      resolve(jsonError(504, "ERR_READY_TIMEOUT", message));
    }, limitMs);
    onAbort = () => resolve(jsonError(499, "ERR_CLIENT_CLOSED", "The client went away"));
    if (signal.aborted) onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
  });
  const outcome = ready().then(
    () => undefined,
    (error) => failureResponse(error, { id, browser: false }),
  );
  try {
    return await Promise.race([outcome, gaveUp]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}
