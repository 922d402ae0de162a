/**
 * An in-memory Web Storage for tests.
 *
 * This module is browser compatible.
 *
 * @module
 */

/** A `Storage` that keeps its items in a Map. */
export class MemoryStorage {
  #items = new Map<string, string>();

  get length(): number {
    return this.#items.size;
  }

  getItem(key: string): string | null {
    return this.#items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this.#items.set(key, String(value));
  }

  removeItem(key: string): void {
    this.#items.delete(key);
  }

  clear(): void {
    this.#items.clear();
  }

  key(index: number): string | null {
    return [...this.#items.keys()][index] ?? null;
  }
}
