/**
 * A session's output and state changes, live on channel `gateway-logs:{id}` so a UI can show
 * a dev server's terminal as it runs. Clients may only read it, and only with a token whose
 * `sessions` claim grants that session or whose `gateway` claim is `"admin"`.
 *
 * Messages:
 * - `{"kind": "log", "stream": "stdout" | "stderr", "text": "…", "at": <ms since epoch>}`
 * - `{"kind": "state", "state": "starting" | "ready" | "crashed" | "stopped", "at": …,
 *   "error"?: {"code": "…", "message": "…"}, "restartInMs"?: <delay of the next restart>}`
 *
 * @module
 */

import {
  DEFAULT_NAMESPACE,
  type NamespaceOptions,
  type SubscriberInfo,
  SwitchyardError,
} from "../../core/mod.ts";
import { sessionGranted } from "./access.ts";
import type { LogLine, SessionState, StateDetail } from "./supervisor.ts";

/** The namespace of the log channels. */
export const GATEWAY_LOGS_NAMESPACE = "gateway-logs";

/** The channel that carries session `id`'s output. */
export function logChannel(id: string): string {
  return `${GATEWAY_LOGS_NAMESPACE}:${id}`;
}

/** Whether `claims` make their holder a gateway administrator (`"gateway": "admin"`). */
export function isGatewayAdmin(claims: Readonly<Record<string, unknown>> | undefined): boolean {
  return claims?.gateway === "admin";
}

/**
 * Options of the `gateway-logs` namespace: the last 500 messages are kept for a day (as many
 * lines as a session's log ring), clients never publish, and `guard` lets in administrators
 * and holders of the session's token — everyone when `anonymous`.
 */
export function gatewayLogsNamespace(anonymous: boolean): NamespaceOptions {
  return {
    ...DEFAULT_NAMESPACE,
    historySize: 500,
    historyTtlMs: 24 * 3600_000,
    publish: false,
    guard: (channel: string, who: SubscriberInfo) => {
      if (anonymous || isGatewayAdmin(who.claims)) return;
      const id = channel.slice(GATEWAY_LOGS_NAMESPACE.length + 1);
      if (!sessionGranted(who.claims, id)) {
        throw new SwitchyardError(
          "ERR_FORBIDDEN",
          `No access to the logs of session "${id}": the token's sessions claim must grant it`,
        );
      }
    },
  };
}

/** What {@linkcode publishGatewayLogs} needs of the gateway and of the hub. */
export interface LogSources {
  onLog(fn: (id: string, line: LogLine) => void): () => void;
  onState(fn: (id: string, state: SessionState, detail: StateDetail) => void): () => void;
}

/**
 * Publishes every session's lines and state changes on its `gateway-logs:{id}` channel, in
 * order. Returns a function that stops publishing. A failed publish is reported to `onError`
 * and the next one goes on.
 */
export function publishGatewayLogs(
  gateway: LogSources,
  publish: (channel: string, data: unknown) => Promise<unknown>,
  options: { now?: () => number; onError?: (error: unknown) => void } = {},
): () => void {
  const now = options.now ?? Date.now;
  const send = (id: string, data: unknown) => {
    publish(logChannel(id), data).catch((error) => options.onError?.(error));
  };
  const offLog = gateway.onLog((id, line) =>
    send(id, { kind: "log", stream: line.stream, text: line.text, at: line.at })
  );
  const offState = gateway.onState((id, state, detail) => {
    const error = detail.error
      ? { error: { code: detail.error.code, message: detail.error.message } }
      : {};
    const restart = detail.restartInMs === undefined ? {} : { restartInMs: detail.restartInMs };
    send(id, { kind: "state", state, at: now(), ...error, ...restart });
  });
  return () => {
    offLog();
    offState();
  };
}
