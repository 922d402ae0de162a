import assert from "node:assert/strict";
import { ALL_FIELDS, configReference, envName, NAMESPACE_FIELDS } from "./mod.ts";

Deno.test("configReference() lists every key with its env var, default and flag", () => {
  const reference = configReference();
  for (const field of ALL_FIELDS) {
    const leaf = field.key.split(".").at(-1);
    const row = reference.split("\n").find((line) =>
      line.startsWith(`| \`${leaf}\` |`) && line.includes(`\`${envName(field.key)}\``)
    );
    assert.ok(row, `no row for ${field.key}`);
    if (field.flag) assert.ok(row.includes(`\`--${field.flag.name}\``), `no flag for ${field.key}`);
  }
  assert.match(reference, /\| `port` \| integer 0–65535 \| `4433` \| `SWITCHYARD_PORT` \|/);
  assert.match(reference, /\| `max_message_bytes` \| integer 64–67108864 \| `65536` \|/);
});

Deno.test("configReference() documents namespaces as file-only", () => {
  const reference = configReference();
  assert.ok(reference.includes("### `[channels]` and `[namespaces.NAME]`"));
  assert.ok(reference.includes("`SWITCHYARD_NAMESPACES_*` variables are refused"));
  for (const field of NAMESPACE_FIELDS) assert.ok(reference.includes(`| \`${field.key}\` |`));
});

Deno.test("configReference() is valid markdown tables: every row has five cells", () => {
  for (const line of configReference().split("\n").filter((line) => line.startsWith("|"))) {
    const cells = line.replaceAll("\\|", "").split("|").length - 2;
    assert.equal(cells, 5, line);
  }
});
