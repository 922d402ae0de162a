/**
 * A tiny typed event emitter. A listener that throws does not stop the others:
 * its error is reported like an uncaught one (`reportError`).
 *
 * This module is browser compatible.
 *
 * @module
 */

/**
 * A listener for an event whose payload is `T`.
 *
 * @example
 * ```ts
 * import { SwitchyardClient, type Listener, type ClientState } from "./mod.ts";
 * const onState: Listener<ClientState> = (s) => console.log(s);
 * new SwitchyardClient("http://localhost:4480").on("state", onState);
 * ```
 */
export type Listener<T> = (payload: T) => void;

/**
 * Report an error thrown by application code without breaking the caller.
 *
 * @example
 * ```ts
 * import { report } from "./emitter.ts";
 * report(new Error("listener failed"));
 * ```
 */
export function report(err: unknown): void {
  const g = globalThis as { reportError?: (e: unknown) => void };
  if (typeof g.reportError === "function") g.reportError(err);
  else console.error(err);
}

/**
 * Events keyed by name, payload typed by `Events[name]`.
 *
 * @example
 * ```ts
 * import { Emitter } from "./emitter.ts";
 * const e = new Emitter<{ state: string }>();
 * const fn = (s: string) => console.log(s);
 * e.on("state", fn);
 * e.emit("state", "connected");
 * e.off("state", fn);
 * ```
 */
export class Emitter<Events> {
  #listeners = new Map<keyof Events, Set<Listener<never>>>();

  on<K extends keyof Events>(event: K, fn: Listener<Events[K]>): void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, set = new Set());
    set.add(fn as Listener<never>);
  }

  off<K extends keyof Events>(event: K, fn: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(fn as Listener<never>);
  }

  /** Whether anybody listens to `event`. */
  has<K extends keyof Events>(event: K): boolean {
    return (this.#listeners.get(event)?.size ?? 0) > 0;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        (fn as Listener<Events[K]>)(payload);
      } catch (err) {
        report(err);
      }
    }
  }
}
