/**
 * The version of Switchyard, read from `deno.json`.
 *
 * @module
 */

import denoJson from "../../deno.json" with { type: "json" };

/**
 * The version of this build, e.g. `"0.1.0"`: the `version` key of `deno.json`.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.log(`switchyard ${VERSION}`);
 * ```
 */
export const VERSION: string = denoJson.version;

/**
 * What `switchyard version` and `--version` print: the version, then the
 * runtime it runs on, e.g. `switchyard 0.1.0 (deno 2.9.6, v8 …, typescript …)`.
 *
 * @example
 * ```ts
 * import { versionText } from "./version.ts";
 * console.log(versionText());
 * ```
 */
export function versionText(): string {
  const { deno, v8, typescript } = Deno.version;
  return `switchyard ${VERSION} (deno ${deno}, v8 ${v8}, typescript ${typescript})`;
}
