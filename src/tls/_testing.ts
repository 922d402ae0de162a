/**
 * Private to src/tls tests: waiting with a deadline and temporary cert directories.
 *
 * @module
 */

import { deadline } from "../../test/_deadline.ts";
export { deadline };

/** Runs `fn` with a fresh temporary directory that is removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "switchyard_tls_" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
