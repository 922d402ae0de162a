import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { ClientBundle, sourceHash } from "./client_bundle.ts";

async function tempModules(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "switchyard-bundle-test-" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

Deno.test("a bundle is built once, then read from the cache until a source changes", async () => {
  const src = await tempModules({
    "entry.ts": 'import { word } from "./word.ts";\nexport const greeting = `hello ${word}`;\n',
    "word.ts": 'export const word = "world";\n',
  });
  const cacheDir = await Deno.makeTempDir({ prefix: "switchyard-bundle-cache-" });
  const entry = pathToFileURL(`${src}/entry.ts`);
  try {
    const first = new ClientBundle(entry, { cacheDir });
    assert.match(await first.code(), /world/);
    assert.equal(first.builds, 1);

    const second = new ClientBundle(entry, { cacheDir });
    assert.equal(await second.code(), await first.code());
    assert.equal(second.builds, 0, "unchanged sources come from the cache");

    await Deno.writeTextFile(`${src}/word.ts`, 'export const word = "there";\n');
    const third = new ClientBundle(entry, { cacheDir });
    assert.match(await third.code(), /there/, "an edited import is rebuilt, never served stale");
    assert.equal(third.builds, 1);
    const files = [...Deno.readDirSync(cacheDir)].map((e) => e.name);
    assert.equal(files.length, 1, `older bundles of the entry are removed: ${files}`);
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("sourceHash follows relative imports and hashes deno.json for bare specifiers", async () => {
  const src = await tempModules({
    "a.ts": 'export * from "./b.ts";\n',
    "b.ts":
      'export const b = 1;\n// a message, not an import:\nexport const m = (x: string) => `read from "${x}"`;\n',
    "bare.ts": 'import x from "some-package";\nexport default x;\n',
  });
  try {
    const before = await sourceHash(pathToFileURL(`${src}/a.ts`));
    assert.match(before!, /^[0-9a-f]{24}$/);
    await Deno.writeTextFile(`${src}/b.ts`, "export const b = 2;\n");
    assert.notEqual(await sourceHash(pathToFileURL(`${src}/a.ts`)), before);
    assert.equal(await sourceHash(pathToFileURL(`${src}/bare.ts`)), undefined, "no deno.json");
    await Deno.writeTextFile(`${src}/deno.json`, '{"imports": {"some-package": "npm:x@1"}}');
    const pinned = await sourceHash(pathToFileURL(`${src}/bare.ts`));
    assert.match(pinned!, /^[0-9a-f]{24}$/, "deno.json pins the bare specifier");
    await Deno.writeTextFile(`${src}/deno.json`, '{"imports": {"some-package": "npm:x@2"}}');
    assert.notEqual(await sourceHash(pathToFileURL(`${src}/bare.ts`)), pinned);
    await Deno.writeTextFile(`${src}/npm.ts`, 'import x from "npm:x@1";\nexport default x;\n');
    assert.equal(await sourceHash(pathToFileURL(`${src}/npm.ts`)), undefined);
  } finally {
    await Deno.remove(src, { recursive: true });
  }
});

Deno.test("a bundler error is reported, and nothing is cached", async () => {
  const src = await tempModules({ "broken.ts": "export const = ;\n" });
  const cacheDir = await Deno.makeTempDir({ prefix: "switchyard-bundle-cache-" });
  try {
    const bundle = new ClientBundle(pathToFileURL(`${src}/broken.ts`), { cacheDir });
    await assert.rejects(bundle.code(), /deno bundle failed/);
    const res = await bundle.response();
    assert.equal(res.status, 500);
    assert.match(await res.text(), /Cannot bundle the client/);
    assert.deepEqual([...Deno.readDirSync(cacheDir)], []);
  } finally {
    await Deno.remove(src, { recursive: true });
    await Deno.remove(cacheDir, { recursive: true });
  }
});
