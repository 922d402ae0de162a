/**
 * The checks every commit passes, as tests: formatting, lint, and type checks
 * including every JSDoc example (`deno check --doc`).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const DIRS = ["src/", "client/", "test/", "scripts/", "bench/"];

async function deno(args: string[]): Promise<{ ok: boolean; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { ok: out.success, output: d.decode(out.stdout) + d.decode(out.stderr) };
}

Deno.test("deno fmt --check is clean", async () => {
  const r = await deno(["fmt", "--check", ...DIRS, "docs/", "README.md"]);
  assert.ok(r.ok, r.output.slice(-3000));
});

Deno.test("deno lint is clean", async () => {
  const r = await deno(["lint", ...DIRS]);
  assert.ok(r.ok, r.output.slice(-3000));
});

Deno.test("deno check --doc is clean (sources, tests and JSDoc examples)", async () => {
  const r = await deno(["check", "--doc", ...DIRS]);
  assert.ok(r.ok, r.output.slice(-3000));
});
