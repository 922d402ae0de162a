/**
 * Runs every ```ts block of the docs (not `ts no-run`) against a real server:
 * `http://localhost:4480` (and `ws://`) becomes the test server, `./client/…` the checkout's client.
 */
import assert from "node:assert/strict";
import { docExamples as examples } from "./_docs.ts";
import { startTestServer } from "./_server.ts";

const ROOT = new URL("../", import.meta.url);
const DOCS = ["docs/client.md", "docs/sync.md"];
const CLIENT_DIR = new URL("client/", ROOT).href;

for (const doc of DOCS) {
  const text = await Deno.readTextFile(new URL(doc, ROOT));
  for (const { line, code } of examples(text)) {
    Deno.test({
      name: `${doc}:${line} example runs`,
      sanitizeOps: false,
      sanitizeResources: false,
      async fn() {
        const server = await startTestServer({ flags: { "http-port": "0" } });
        const dir = await Deno.makeTempDir();
        try {
          const file = `${dir}/example.ts`;
          await Deno.writeTextFile(
            file,
            code.replaceAll("http://localhost:4480", server.http)
              .replaceAll("ws://localhost:4480", server.http.replace("http", "ws"))
              .replaceAll('"./client/', `"${CLIENT_DIR}`),
          );
          const out = await new Deno.Command(Deno.execPath(), {
            // deno.json's import map resolves `yjs` and the like, as in the repository.
            args: [
              "run",
              "--allow-net",
              "--allow-read",
              "--allow-env",
              "--config",
              "deno.json",
              file,
            ],
            cwd: new URL(".", ROOT).pathname,
            stdout: "piped",
            stderr: "piped",
            signal: AbortSignal.timeout(30_000),
          }).output();
          const stderr = new TextDecoder().decode(out.stderr);
          assert.equal(out.code, 0, `${doc}:${line} failed:\n${stderr}`);
        } finally {
          await Deno.remove(dir, { recursive: true });
          await server.close();
        }
      },
    });
  }
}
