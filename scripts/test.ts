/**
 * The whole test suite, as `deno task test` runs it (and `.ci/run`):
 * installs Chromium from apt when it is missing, runs every test, and ends with
 * the line `N passed, M failed`.
 *
 * Usage: deno task test [deno test args…]   e.g. deno task test src/core
 *
 * @module
 */

import { ensureChromium } from "./ensure_chromium.ts";

const deno = Deno.execPath();
const args = Deno.args.length > 0 ? Deno.args : ["src/", "client/", "test/"];

try {
  const chromium = await ensureChromium((line) => console.log(line));
  Deno.env.set("SWITCHYARD_CHROMIUM", chromium);
} catch (err) {
  console.error((err as Error).message);
  console.log("0 passed, 1 failed");
  Deno.exit(1);
}

const child = new Deno.Command(deno, {
  args: ["test", "--allow-all", "--unstable-net", "--parallel", ...args],
  stdout: "piped",
  stderr: "inherit",
  env: { NO_COLOR: "1", DENO_JOBS: "2" },
}).spawn();

let tail = "";
const decoder = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4096);
}
const status = await child.status;
const summary = [...tail.matchAll(/(\d+) passed[^\n]*?\| (\d+) failed/g)].at(-1);
const passed = summary ? Number(summary[1]) : 0;
let failed = summary ? Number(summary[2]) : 0;
if (!status.success && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
Deno.exit(status.success ? 0 : 1);
