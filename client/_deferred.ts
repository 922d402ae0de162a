/**
 * A promise with its resolve and reject functions.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** A promise and the functions that settle it. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(v: T): void;
  reject(e: Error): void;
}

/**
 * A new deferred. Its promise counts as handled: nobody awaiting it is not an error.
 *
 * @example
 * ```ts
 * import { deferred } from "./_deferred.ts";
 * const d = deferred<number>();
 * d.resolve(1);
 * await d.promise; // 1
 * ```
 */
export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}
