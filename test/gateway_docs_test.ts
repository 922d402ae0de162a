/**
 * docs/gateway.md is true: its quick-start `switchyard.toml` loads (only the command, the
 * working directory, readiness and ports are swapped for a small test server), its `ts`
 * examples run in order against that server (signing a link, creating a session through the
 * API, following its logs), and its error table lists every gateway error code.
 *
 * @module
 */

import assert from "node:assert/strict";
import { signToken } from "../src/auth/mod.ts";
import { loadConfig } from "../src/config/mod.ts";
import { freePortRange } from "../src/services/gateway/_gateway_testing.ts";
import { docExamples } from "./_docs.ts";
import { startTestServer } from "./_server.ts";

const ROOT = new URL("../", import.meta.url);
const DOC = new URL("docs/gateway.md", ROOT);
const CLIENT_DIR = new URL("client/", ROOT).href;

const SESSION_SERVER = `
const [port, id] = Deno.args;
Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen() {
  console.log("session " + id + " ready on " + port);
} }, () => new Response("session " + id));
`;

Deno.test({
  name: "docs/gateway.md: the quick-start config loads and the examples run in order",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const markdown = await Deno.readTextFile(DOC);
    const [toml] = docExamples(markdown, "toml");
    const secret = /hmac_secret = "([^"]+)"/.exec(toml.code)?.[1];
    assert.ok(secret, "the quick start sets an HMAC secret");
    const dir = await Deno.makeTempDir({ prefix: "gateway_docs_" });
    await Deno.writeTextFile(`${dir}/session_server.js`, SESSION_SERVER);
    const [low, high] = freePortRange(3);
    const server = await startTestServer({
      toml: toml.code,
      env: {
        SWITCHYARD_GATEWAY_COMMAND: `"${Deno.execPath()}" run --no-config --allow-net ` +
          `"${dir}/session_server.js" {port} {id}`,
        SWITCHYARD_GATEWAY_CWD: ".",
        SWITCHYARD_GATEWAY_READY: "tcp",
        SWITCHYARD_GATEWAY_PORT_RANGE: `${low}-${high}`,
      },
    });
    try {
      assert.ok(server.app.gateway, "the quick start enables the gateway");
      const sign = (claims: Record<string, unknown>) =>
        signToken({ sub: "docs", ...claims }, { secret, alg: "HS256" });
      const env = {
        GATEWAY_ADMIN_TOKEN: await sign({ gateway: "admin" }),
        SESSION_TOKEN: await sign({ sessions: ["a"] }),
      };
      const examples = docExamples(markdown);
      assert.ok(examples.length >= 3);
      for (const { line, code } of examples) {
        const file = `${dir}/example_${line}.ts`;
        await Deno.writeTextFile(
          file,
          code.replaceAll("http://localhost:4480", server.http)
            .replaceAll('"./client/', `"${CLIENT_DIR}`),
        );
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "--allow-net", "--allow-env", "--config", "deno.json", file],
          cwd: ROOT.pathname,
          env,
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(30_000),
        }).output();
        const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
        assert.equal(out.code, 0, `docs/gateway.md:${line} failed:\n${text}`);
        if (code.includes("/gateway/sessions?wait=ready")) {
          assert.match(text, /^ready \d+$/m, "the API example prints the ready session");
        }
        if (code.includes("gateway-logs:a")) {
          assert.match(text, /session a ready on \d+/, "the logs example prints the output");
        }
      }
    } finally {
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("docs/gateway.md lists every gateway error code", async () => {
  const markdown = await Deno.readTextFile(DOC);
  const source = await Deno.readTextFile(
    new URL("src/services/gateway/_gateway_error.ts", ROOT),
  );
  const union = /export type GatewayErrorCode =([^;]+);/.exec(source)![1];
  const codes = [...union.matchAll(/"(ERR_[A-Z_]+)"/g)].map((m) => m[1]);
  assert.ok(codes.length > 10);
  for (const code of codes) assert.ok(markdown.includes(`| \`${code}\``), `${code} is missing`);
});

Deno.test("docs/gateway.md: every switchyard.toml example loads (with the quick start's [auth])", async () => {
  const blocks = docExamples(await Deno.readTextFile(DOC), "toml");
  assert.ok(blocks.length >= 2);
  const auth = /^\[auth\][^[]*/m.exec(blocks[0].code)![0];
  for (const { line, code: block } of blocks) {
    const code = /^\[auth\]/m.test(block) ? block : `${auth}\n${block}`;
    const config = await loadConfig({
      flags: { config: "/docs/switchyard.toml" },
      env: {},
      cwd: "/docs",
      readFile: () => Promise.resolve(code),
    }).catch((error) => {
      throw new Error(`docs/gateway.md:${line} does not load: ${error.message}`);
    });
    assert.equal(config.gateway.enabled, true, `docs/gateway.md:${line}`);
  }
});

Deno.test("docs/gateway.md lists every gateway metric", async () => {
  const markdown = await Deno.readTextFile(DOC);
  const source = await Deno.readTextFile(new URL("src/ops/metrics.ts", ROOT));
  const names = [...new Set(source.match(/switchyard_gateway_[a-z_]+/g))];
  assert.ok(names.length >= 5);
  for (const name of names) assert.ok(markdown.includes(`\`${name}\``), `${name} is missing`);
});
