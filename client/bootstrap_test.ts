import assert from "node:assert/strict";
import { bootstrapUrl, fetchBootstrap, parseBootstrap } from "./bootstrap.ts";
import { SwitchyardClientError } from "./client_error.ts";

function serve(handler: (req: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

const isBootstrapError = (e: unknown) =>
  e instanceof SwitchyardClientError && e.code === "ERR_BOOTSTRAP";

Deno.test("bootstrapUrl() resolves against the origin", () => {
  assert.equal(
    bootstrapUrl("https://example.com:8443/app/"),
    "https://example.com:8443/switchyard/bootstrap.json",
  );
});

Deno.test("parseBootstrap() keeps well-formed transports only", () => {
  const boot = parseBootstrap({
    version: "0.1.0",
    maxMessageBytes: 65536,
    transports: {
      webtransport: { url: "https://h/wt", certificateHashes: ["aGFzaA==", 7] },
      websocket: { url: 42 },
      sse: { url: "http://h/sse" },
      pigeon: { url: "coo://h" },
    },
  });
  assert.deepEqual(boot.transports, {
    webtransport: {
      url: "https://h/wt",
      certificateHashes: ["aGFzaA=="],
      maxMessageBytes: 65536,
    },
    sse: { url: "http://h/sse", maxMessageBytes: 65536 },
  });
  assert.equal(boot.maxMessageBytes, 65536);
  assert.throws(() => parseBootstrap({ version: "x" }), isBootstrapError);
  assert.throws(() => parseBootstrap(null), isBootstrapError);
});

Deno.test("fetchBootstrap() fetches /switchyard/bootstrap.json", async () => {
  const s = serve((req) => {
    assert.equal(new URL(req.url).pathname, "/switchyard/bootstrap.json");
    return Response.json({ transports: { websocket: { url: "ws://h/ws" } } });
  });
  try {
    const boot = await fetchBootstrap(s.url);
    assert.deepEqual(boot.transports, { websocket: { url: "ws://h/ws" } });
  } finally {
    await s.close();
  }
});

Deno.test("fetchBootstrap() fails with ERR_BOOTSTRAP on HTTP errors, bad JSON and timeouts", async () => {
  let mode = "404";
  const s = serve(async () => {
    if (mode === "404") return new Response("nope", { status: 404 });
    if (mode === "json") return new Response("{nope");
    await new Promise((r) => setTimeout(r, 300));
    return Response.json({ transports: {} });
  });
  try {
    await assert.rejects(
      fetchBootstrap(s.url),
      (e) => isBootstrapError(e) && /HTTP 404/.test(String(e)),
    );
    mode = "json";
    await assert.rejects(
      fetchBootstrap(s.url),
      (e) => isBootstrapError(e) && /not JSON/.test(String(e)),
    );
    mode = "slow";
    await assert.rejects(fetchBootstrap(s.url, { timeoutMs: 30 }), isBootstrapError);
  } finally {
    await s.close();
  }
});
