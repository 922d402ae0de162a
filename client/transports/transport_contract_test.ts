/**
 * One contract, every adapter: frames arrive in order and unchanged, a server
 * close reports its code, `close()` silences callbacks, a dead endpoint
 * rejects, an abort rejects. Each adapter runs against a real loopback server
 * speaking its framing.
 */
import assert from "node:assert/strict";
import type { ClientTransport, TransportKind } from "../transport.ts";
import { SwitchyardClientError } from "../client_error.ts";
import { openTransport } from "./mod.ts";
import { openSse } from "./sse_transport.ts";
import { echoServer } from "./_echo_servers.ts";
import { waitFor } from "../_test_util.ts";

type Opener = typeof openTransport;

const ADAPTERS: { name: string; kind: TransportKind; open: Opener; closeCode: number }[] = [
  { name: "WebSocket", kind: "websocket", open: openTransport, closeCode: 3001 },
  { name: "WebTransport", kind: "webtransport", open: openTransport, closeCode: 3001 },
  // SSE carries no close code: the client learns the reason from the disconnect frame.
  { name: "SSE (EventSource)", kind: "sse", open: openTransport, closeCode: 1006 },
  {
    name: "SSE (fetch reader)",
    kind: "sse",
    open: (_kind, o) => openSse({ ...o, useFetch: true }),
    closeCode: 1006,
  },
];

function collector() {
  const frames: string[] = [];
  const closes: [number, string][] = [];
  return {
    frames,
    closes,
    onFrame: (f: string) => frames.push(f),
    onClose: (code: number, reason: string) => closes.push([code, reason]),
  };
}

for (const a of ADAPTERS) {
  Deno.test(`${a.name} transport delivers frames both ways, in order and unchanged`, async () => {
    const server = await echoServer(a.kind);
    const c = collector();
    let t: ClientTransport | undefined;
    try {
      t = await a.open(a.kind, {
        endpoint: server.endpoint,
        signal: AbortSignal.timeout(3000),
        ...c,
      });
      assert.equal(t.kind, a.kind);
      const sent = [
        '{"type":"ping"}',
        JSON.stringify({ type: "publish", data: 'é€😀 \\n "quoted"' }),
        JSON.stringify({ big: "x".repeat(100_000) }),
        ...Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })),
      ];
      for (const f of sent) t.send(f);
      await waitFor(() => c.frames.length === sent.length, "every echo");
      assert.deepEqual(c.frames, sent);
      assert.deepEqual(c.closes, []);
    } finally {
      t?.close();
      await server.close();
    }
  });

  Deno.test(`${a.name} transport reports the server's close once, after its frames`, async () => {
    const server = await echoServer(a.kind);
    const c = collector();
    let t: ClientTransport | undefined;
    try {
      t = await a.open(a.kind, {
        endpoint: server.endpoint,
        signal: AbortSignal.timeout(3000),
        ...c,
      });
      t.send('{"n":1}');
      t.send(JSON.stringify({ close: 3001 }));
      await waitFor(() => c.closes.length === 1, "the close");
      assert.deepEqual(c.frames, ['{"n":1}']);
      assert.equal(c.closes[0][0], a.closeCode);
      t.send('{"after":"close"}');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(c.closes.length, 1);
    } finally {
      t?.close();
      await server.close();
    }
  });

  Deno.test(`${a.name} transport fires no callback after close()`, async () => {
    const server = await echoServer(a.kind);
    const c = collector();
    try {
      const t = await a.open(a.kind, {
        endpoint: server.endpoint,
        signal: AbortSignal.timeout(3000),
        ...c,
      });
      t.send('{"n":1}');
      await waitFor(() => c.frames.length === 1, "an echo");
      t.close();
      t.send('{"n":2}');
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(c.frames, ['{"n":1}']);
      assert.deepEqual(c.closes, []);
    } finally {
      await server.close();
    }
  });

  Deno.test(`${a.name} transport rejects when nothing listens`, async () => {
    const server = await echoServer(a.kind);
    const endpoint = server.endpoint;
    await server.close();
    const c = collector();
    await assert.rejects(
      a.open(a.kind, { endpoint, signal: AbortSignal.timeout(3000), ...c }),
      (e) => e instanceof SwitchyardClientError && e.code === "ERR_TRANSPORT_FAILED",
    );
    assert.deepEqual(c.closes, []);
  });

  Deno.test(`${a.name} transport rejects with the abort reason`, async () => {
    const server = await echoServer(a.kind);
    try {
      const abort = new AbortController();
      const reason = new Error("attempt timed out (test)");
      const opening = a.open(a.kind, {
        endpoint: server.endpoint,
        signal: abort.signal,
        ...collector(),
      });
      abort.abort(reason);
      await assert.rejects(opening, (e) => e === reason);
    } finally {
      await server.close();
    }
  });
}
