import assert from "node:assert/strict";
import { lineOf, tomlKeyLines } from "./_toml_lines.ts";

Deno.test("tomlKeyLines() places keys, dotted keys and tables", () => {
  const lines = tomlKeyLines(
    [
      "# comment",
      'host = "x" # port = 1',
      "limits.max_connections = 5",
      "",
      "[namespaces.chat]",
      "presence = true",
      '[ namespaces."my.app" ]',
      "'history_size' = 1",
    ].join("\n"),
  );
  assert.equal(lines.get("host"), 2);
  assert.equal(lines.has("port"), false);
  assert.equal(lines.get("limits.max_connections"), 3);
  assert.equal(lines.get("namespaces.chat"), 5);
  assert.equal(lines.get("namespaces.chat.presence"), 6);
  assert.equal(lines.get("namespaces.my.app"), 7);
  assert.equal(lines.get("namespaces.my.app.history_size"), 8);
});

Deno.test("tomlKeyLines() skips multi-line arrays and strings", () => {
  const lines = tomlKeyLines(
    [
      "allowed_origins = [",
      '  "https://a.example", # [not = a table]',
      '  "x = y",',
      "]",
      'auth.public_key = """',
      "[fake]",
      "key = 1",
      '"""',
      "port = 1",
    ].join("\n"),
  );
  assert.deepEqual([...lines], [["allowed_origins", 1], ["auth.public_key", 5], ["port", 9]]);
});

Deno.test("lineOf() falls back to the closest parent", () => {
  const lines = tomlKeyLines("[session]\ngrace_ms = 1\n");
  assert.equal(lineOf(lines, ["session", "grace_ms"]), 2);
  assert.equal(lineOf(lines, ["session", "other"]), 1);
  assert.equal(lineOf(lines, ["nowhere"]), undefined);
});
