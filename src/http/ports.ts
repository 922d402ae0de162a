/**
 * Binding a port, or the next free one when it is taken.
 *
 * @module
 */

import type { Logger } from "../core/hub.ts";

/** Ports tried when the asked one is taken: it and the next 19. */
export const PORT_ATTEMPTS = 20;

/** Random ports tried for port 0 when the UDP side of the one picked for TCP is taken. */
const ANY_PORT_ATTEMPTS = 8;

/** Thrown when no port could be bound. */
export class PortInUseError extends Error {
  /** Stable code for this error. */
  readonly code = "ERR_PORT_IN_USE";
  /** The port asked for. */
  readonly port: number;

  /** An error for `port` with a message that names the fix. */
  constructor(port: number, message: string) {
    super(message);
    this.name = "PortInUseError";
    this.port = port;
  }
}

/** Options of {@linkcode bindPort}. */
export interface BindPortOptions {
  /** The port asked for; 0 = any free port. */
  port: number;
  /** Throw instead of trying the next ports. */
  strictPort: boolean;
  /** The flag that changes this port, for the error message (`--port`). */
  flag: string;
  /** Gets the warning when another port is used. */
  log: Logger;
}

/**
 * Call `bind(port)` with the asked port, then (unless `strictPort`) the next
 * ones while it throws `Deno.errors.AddrInUse`, and log the switch:
 * `Port 4433 is in use: serving on 4434 instead`. With port 0, `bind(0)` picks
 * a port and is retried when it throws `AddrInUse` (the UDP side of the port
 * picked for TCP is taken). Other errors propagate.
 *
 * @throws {PortInUseError} `Port 4433 is in use: stop the other process or pass --port`.
 *
 * @example
 * ```ts
 * import { bindPort } from "./mod.ts";
 * const server = bindPort(
 *   { port: 8080, strictPort: false, flag: "--port", log: console },
 *   (p) => Deno.serve({ port: p, onListen() {} }, () => new Response("hi")),
 * );
 * ```
 */
export function bindPort<T>(options: BindPortOptions, bind: (port: number) => T): T {
  const { port, strictPort, flag, log } = options;
  if (port === 0) {
    for (let i = 1;; i++) {
      try {
        return bind(0);
      } catch (err) {
        if (!(err instanceof Deno.errors.AddrInUse) || i >= ANY_PORT_ATTEMPTS) throw err;
      }
    }
  }
  const last = strictPort ? port : Math.min(65_535, port + PORT_ATTEMPTS - 1);
  for (let p = port; p <= last; p++) {
    try {
      const value = bind(p);
      if (p !== port) {
        log.warn(`Port ${port} is in use: serving on ${p} instead`, { port, used: p });
      }
      return value;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
  if (strictPort) {
    throw new PortInUseError(
      port,
      `Port ${port} is in use: stop the other process or pass ${flag}`,
    );
  }
  throw new PortInUseError(
    port,
    `Ports ${port} to ${last} are in use: stop the other processes or pass ${flag}`,
  );
}
