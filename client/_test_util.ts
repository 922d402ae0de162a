/**
 * Helpers for the client's tests: waiting with deadlines, a client wired to a
 * {@linkcode Loopback}.
 *
 * Test-only: not part of the SDK. This module is browser compatible.
 *
 * @module
 */

import { Loopback, type LoopbackOptions } from "./_hub_loopback.ts";
import { SwitchyardClient } from "./switchyard_client.ts";
import type { ClientOptions } from "./client_options.ts";
import type { ClientEvents } from "./client_options.ts";

/** Wait until `test()` is true; fail after `ms` naming `what`. */
export async function waitFor(test: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Settle like `promise`, or reject naming `what` after `ms`. */
export function deadline<T>(promise: Promise<T>, what: string, ms = 3000): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** Resolve with the next `event` payload that passes `filter`; fail after `ms`. */
export function nextEvent<K extends keyof ClientEvents & string>(
  client: SwitchyardClient,
  event: K,
  filter: (payload: ClientEvents[K]) => boolean = () => true,
  ms = 3000,
): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(event, fn);
      reject(new Error(`Timed out after ${ms} ms waiting for event "${event}"`));
    }, ms);
    const fn = (payload: ClientEvents[K]) => {
      if (!filter(payload)) return;
      clearTimeout(timer);
      client.off(event, fn);
      resolve(payload);
    };
    client.on(event, fn);
  });
}

/** A started loopback hub and a factory of clients wired to it; `dispose()` closes all. */
export async function setup(options: LoopbackOptions = {}): Promise<{
  lb: Loopback;
  client(extra?: ClientOptions): SwitchyardClient;
  dispose(): Promise<void>;
}> {
  const lb = new Loopback(options);
  await lb.start();
  const clients: SwitchyardClient[] = [];
  return {
    lb,
    client(extra = {}) {
      const c = new SwitchyardClient("http://test:4480", {
        bootstrap: lb.bootstrap,
        _transportFactory: lb.opener,
        storage: null,
        backoff: { minMs: 1, maxMs: 20 },
        attemptTimeoutMs: 500,
        ...extra,
      });
      clients.push(c);
      return c;
    },
    async dispose() {
      for (const c of clients) await c.close();
      await lb.stop();
    },
  };
}
