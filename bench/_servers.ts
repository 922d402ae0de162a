/**
 * The servers the fan-out benchmark compares, and how to start each on a port.
 *
 * @module
 */

import { PEERS_DIR, switchyardServeArgs } from "./_processes.ts";

/** Wire protocol the load generator speaks to a server (bench/peers/load_protocols.mjs). */
export type Protocol = "switchyard" | "socketio" | "bare";

/** How to start one server. */
export interface ServerSpec {
  /** Key used on the command line (`--servers`) and in results. */
  readonly key: Protocol;
  /** Name in the report. */
  readonly label: string;
  readonly protocol: Protocol;
  /** Whether the server acknowledges publishes (needed by the burst phase). */
  readonly acks: boolean;
  /** Program, arguments and environment to serve plain WebSocket on 127.0.0.1:`port`. */
  command(port: number): { command: string; args: string[]; env?: Record<string, string> };
}

const ROOT = new URL("../", import.meta.url).pathname;
const PEERS = PEERS_DIR;

/**
 * Limits raised so that none of them shapes the result, and Socket.IO's
 * heartbeat (ping every 25 s, 20 s timeout) instead of our 5 s one: with 10,000
 * clients a 5 s heartbeat is 4,000 extra frames a second on both ends, which
 * would be measured as fan-out latency (docs/benchmarks.md).
 */
const SWITCHYARD_ENV: Record<string, string> = {
  SWITCHYARD_LIMITS_MAX_CONNECTIONS: "100000",
  SWITCHYARD_LIMITS_MAX_CONNECTIONS_PER_IP: "100000",
  SWITCHYARD_LIMITS_PUBLISH_RATE: "100000",
  SWITCHYARD_LIMITS_PUBLISH_BURST: "100000",
  SWITCHYARD_SESSION_PING_INTERVAL_MS: "25000",
  SWITCHYARD_SESSION_PING_TIMEOUT_MS: "20000",
};

/** Every server, in run order. */
export const SERVERS: readonly ServerSpec[] = [
  {
    key: "switchyard",
    label: "Switchyard",
    protocol: "switchyard",
    acks: true,
    command: (port) => ({
      command: Deno.execPath(),
      args: switchyardServeArgs(port),
      env: SWITCHYARD_ENV,
    }),
  },
  {
    key: "socketio",
    label: "Socket.IO",
    protocol: "socketio",
    acks: true,
    command: (port) => ({
      command: "node",
      args: [`${PEERS}socketio_server.mjs`, String(port)],
    }),
  },
  {
    key: "bare",
    label: "bare Deno",
    protocol: "bare",
    acks: false,
    command: (port) => ({
      command: Deno.execPath(),
      args: ["run", "--allow-net", `${PEERS}deno_bare_ws.ts`, String(port)],
    }),
  },
];

/** Path of the load generator and of the Node peers' folder. */
export const LOAD_SCRIPT = `${PEERS}load.mjs`;
export const REPO_ROOT = ROOT;
