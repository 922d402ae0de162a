import assert from "node:assert/strict";
import { CLI_FLAGS, COMMANDS } from "./args.ts";
import { helpText } from "./help.ts";
import { VERSION, versionText } from "./version.ts";

Deno.test("helpText() lists the usage, every command and every flag with its default", () => {
  const text = helpText();
  assert.match(text, /^switchyard \d+\.\d+\.\d+: /);
  assert.ok(text.includes("Usage: switchyard <command> [flags]"));
  for (const name of Object.keys(COMMANDS)) assert.match(text, new RegExp(`^  ${name}\\b`, "m"));
  for (const flag of CLI_FLAGS.filter((f) => !f.commands)) {
    assert.ok(text.includes(`--${flag.name}`), `--${flag.name} is missing`);
    if (flag.short) assert.ok(text.includes(`-${flag.short}, --${flag.name}`), flag.name);
  }
  assert.ok(text.includes("-p, --port <port>"));
  const flat = text.replace(/\s+/g, " ");
  assert.ok(flat.includes("(default: 4433)"));
  assert.ok(flat.includes("(default: localhost)"));
  assert.ok(flat.includes("(default: .switchyard/certs)"));
  assert.ok(text.includes("Examples:\n  switchyard dev"));
  assert.ok(text.trimEnd().endsWith("Docs: docs/configuration.md"));
  assert.doesNotMatch(text, /coming soon/i);
});

Deno.test("helpText(command) shows that command's usage, flags and examples", () => {
  const serve = helpText("serve");
  assert.ok(
    serve.startsWith("Usage: switchyard serve [flags]\n\nStart the server with its demo page\n"),
  );
  for (const flag of CLI_FLAGS.filter((f) => !f.commands)) {
    assert.ok(serve.includes(`--${flag.name}`), flag.name);
  }
  assert.ok(!serve.includes("--spa"), "dev's flags are not serve's");
  const dev = helpText("dev");
  for (const flag of ["--spa", "--no-inject", "--open", "--quiet", "--port"]) {
    assert.ok(dev.includes(flag), flag);
  }
  assert.ok(serve.includes("switchyard serve -p 8443 --host 0.0.0.0"));

  const help = helpText("help");
  assert.ok(help.startsWith("Usage: switchyard help [command] [flags]"));
  assert.ok(help.includes("--help"));
  assert.ok(!help.includes("--port"));
});

Deno.test("helpText() keeps lines within 100 columns", () => {
  for (const command of [undefined, ...Object.keys(COMMANDS)] as const) {
    for (const line of helpText(command as keyof typeof COMMANDS | undefined).split("\n")) {
      assert.ok(line.length <= 100, line);
    }
  }
});

Deno.test("VERSION is the version in deno.json", async () => {
  const denoJson = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(VERSION, denoJson.version);
  assert.ok(versionText().startsWith(`switchyard ${VERSION} (deno ${Deno.version.deno}`));
});
