import assert from "node:assert/strict";
import { generatedDocs } from "../scripts/gen_docs.ts";

Deno.test("docs/ tables generated from code are up to date (run `deno task docs`)", async () => {
  for (const [path, text] of await generatedDocs(new URL("../", import.meta.url))) {
    assert.equal(await Deno.readTextFile(path), text, `${path} is stale: run deno task docs`);
  }
});
