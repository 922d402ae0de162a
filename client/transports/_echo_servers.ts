/**
 * Loopback echo servers for the transport adapters' contract tests: each one
 * speaks the transport's framing (docs/protocol.md) and sends every frame it
 * receives back. A frame `{"close":N}` makes the server end the connection
 * with close code N (SSE has no close codes: it just ends the stream).
 *
 * Test-only: not part of the SDK. Deno only (it listens on sockets): not browser compatible.
 *
 * @module
 */

import { CertificateAuthority } from "../../src/tls/mod.ts";
import { encodeLengthPrefixed, FrameParser } from "./frame_parser.ts";
import type { TransportEndpoint, TransportKind } from "../transport.ts";

/** A running echo server. */
export interface EchoServer {
  endpoint: TransportEndpoint;
  /** POST bodies received (SSE only), in arrival order. */
  posts: string[];
  /** Connections accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

function closeCodeOf(frame: string): number | undefined {
  try {
    const v = JSON.parse(frame);
    return typeof v.close === "number" ? v.close : undefined;
  } catch {
    return undefined;
  }
}

/** WebSocket echo on 127.0.0.1. */
export function webSocketEcho(): EchoServer {
  let count = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    count += 1;
    socket.onmessage = (ev) => {
      const code = closeCodeOf(String(ev.data));
      if (code !== undefined) socket.close(code, "closed by test");
      else socket.send(ev.data);
    };
    return response;
  });
  return {
    endpoint: { url: `ws://127.0.0.1:${server.addr.port}/switchyard/ws` },
    posts: [],
    accepted: () => count,
    close: () => server.shutdown(),
  };
}

/** SSE + POST echo on 127.0.0.1: each POST line comes back as a `message` event. */
export function sseEcho(): EchoServer {
  let count = 0;
  const streams = new Map<string, ReadableStreamDefaultController<Uint8Array>>();
  const posts: string[] = [];
  const enc = new TextEncoder();
  let id = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    if (req.method === "GET" && url.pathname === "/switchyard/sse") {
      const conn = `c${++count}`;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          streams.set(conn, controller);
          controller.enqueue(enc.encode(`event: open\ndata: {"conn":"${conn}"}\n\n`));
        },
        cancel() {
          streams.delete(conn);
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    const m = url.pathname.match(/^\/switchyard\/sse\/(.+)$/);
    if (req.method === "POST" && m) {
      const text = await req.text();
      const controller = streams.get(m[1]);
      if (!controller) return new Response("unknown conn", { status: 404 });
      posts.push(text);
      for (const line of text.split("\n")) {
        if (closeCodeOf(line) !== undefined) {
          streams.delete(m[1]);
          controller.close();
          break;
        }
        controller.enqueue(enc.encode(`id: ${++id}\ndata: ${line}\n\n`));
      }
      return new Response(null, { status: 204 });
    }
    return new Response("not found", { status: 404 });
  });
  return {
    endpoint: { url: `http://127.0.0.1:${server.addr.port}/switchyard/sse` },
    posts,
    accepted: () => count,
    async close() {
      for (const c of streams.values()) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await server.shutdown();
    },
  };
}

/** WebTransport echo over QUIC on 127.0.0.1 with a fresh short-lived leaf certificate. */
export async function webTransportEcho(): Promise<EchoServer> {
  const ca = await CertificateAuthority.generate();
  const leaf = await ca.issue();
  const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = endpoint.listen({
    cert: leaf.certPem,
    key: leaf.keyPem,
    alpnProtocols: ["h3"],
    maxIdleTimeout: 5000,
    keepAliveInterval: 2000,
  });
  let count = 0;
  const sessions = new Set<WebTransport>();
  (async () => {
    while (true) {
      let conn: Deno.QuicConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      count += 1;
      serve(conn).catch(() => {});
    }
  })();
  async function serve(conn: Deno.QuicConn): Promise<void> {
    const wt = await Deno.upgradeWebTransport(conn);
    sessions.add(wt);
    wt.closed.catch(() => {}).finally(() => sessions.delete(wt));
    await wt.ready;
    const reader = wt.incomingBidirectionalStreams.getReader();
    const { value: stream } = await reader.read();
    if (!stream) return;
    const writer = stream.writable.getWriter();
    const parser = new FrameParser();
    for await (const chunk of stream.readable) {
      for (const frame of parser.push(chunk)) {
        const code = closeCodeOf(frame);
        if (code !== undefined) {
          // Deno drops stream data still in flight when the session closes: a server must let
          // its last frames (the disconnect) leave before closing.
          await new Promise((r) => setTimeout(r, 30));
          return wt.close({ closeCode: code, reason: "closed by test" });
        }
        await writer.write(encodeLengthPrefixed(frame));
      }
    }
  }
  const port = endpoint.addr.port;
  return {
    endpoint: {
      url: `https://127.0.0.1:${port}/switchyard/wt`,
      certificateHashes: [leaf.hash.base64],
    },
    posts: [],
    accepted: () => count,
    close() {
      for (const wt of sessions) {
        try {
          wt.close();
        } catch { /* already closed */ }
      }
      endpoint.close();
      return Promise.resolve();
    },
  };
}

/** Start the echo server for `kind`. */
export function echoServer(kind: TransportKind): Promise<EchoServer> {
  switch (kind) {
    case "websocket":
      return Promise.resolve(webSocketEcho());
    case "sse":
      return Promise.resolve(sseEcho());
    case "webtransport":
      return webTransportEcho();
  }
}
