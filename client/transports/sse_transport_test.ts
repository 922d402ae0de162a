import assert from "node:assert/strict";
import { SwitchyardClientError } from "../client_error.ts";
import { openSse } from "./sse_transport.ts";
import { sseEcho } from "./_echo_servers.ts";
import { waitFor } from "../_test_util.ts";

const noop = { onFrame() {}, onClose() {} };

Deno.test("openSse() posts frames sent in one tick as one body", async () => {
  const server = sseEcho();
  const frames: string[] = [];
  try {
    const t = await openSse({
      endpoint: server.endpoint,
      signal: AbortSignal.timeout(3000),
      onFrame: (f) => frames.push(f),
      onClose() {},
    });
    t.send('{"n":1}');
    t.send('{"n":2}');
    t.send('{"n":3}');
    await waitFor(() => frames.length === 3, "the echoes");
    assert.deepEqual(server.posts, ['{"n":1}\n{"n":2}\n{"n":3}']);
    t.close();
  } finally {
    await server.close();
  }
});

Deno.test("openSse() reads a refusal's error code through the fetch reader", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      Response.json({ error: "ERR_FORBIDDEN_ORIGIN", message: "Origin refused" }, { status: 403 }),
  );
  try {
    await assert.rejects(
      openSse({
        ...noop,
        endpoint: { url: `http://127.0.0.1:${server.addr.port}/switchyard/sse` },
        signal: AbortSignal.timeout(3000),
        useFetch: true,
      }),
      (e) => e instanceof SwitchyardClientError && e.closeCode === 3503,
    );
  } finally {
    await server.shutdown();
  }
});

Deno.test("openSse() fails when the open event carries no conn id", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Response("event: open\ndata: {}\n\n", {
        headers: { "content-type": "text/event-stream" },
      }),
  );
  try {
    await assert.rejects(
      openSse({
        ...noop,
        endpoint: { url: `http://127.0.0.1:${server.addr.port}/switchyard/sse` },
        signal: AbortSignal.timeout(3000),
      }),
      (e) => e instanceof SwitchyardClientError && /no conn id/.test(e.message),
    );
  } finally {
    await server.shutdown();
  }
});
