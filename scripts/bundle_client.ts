/**
 * Writes the browser client as one ES module, for hosting it elsewhere:
 * `deno task bundle [out]` (default `dist/switchyard.js`). The server serves
 * the same bundle at `/switchyard/client.js`.
 *
 * @module
 */

import { ClientBundle } from "../src/app/client_bundle.ts";

const out = Deno.args[0] ?? "dist/switchyard.js";
const code = await new ClientBundle().code();
const dir = out.includes("/") ? out.slice(0, out.lastIndexOf("/")) : ".";
await Deno.mkdir(dir, { recursive: true });
await Deno.writeTextFile(out, code);
console.log(`Wrote ${out} (${(code.length / 1024).toFixed(1)} KiB)`);
