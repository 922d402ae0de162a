/**
 * Test harness: the real `Hub` behind real loopback sockets (WebSocket and
 * SSE + POST on `Deno.serve`, WebTransport on a QUIC endpoint) plus
 * `/switchyard/bootstrap.json`, so the client can be tested end to end with
 * its real adapters before the server's own transports exist. Minimal framing
 * only: no auth, origin checks or limits beyond the hub's.
 *
 * Test-only: not part of the SDK. Deno only (it listens on sockets): not browser compatible.
 *
 * @module
 */

import {
  ANONYMOUS,
  type Connection,
  DEFAULT_LIMITS,
  DEFAULT_NAMESPACE,
  Hub,
  type Link,
  Namespaces,
} from "../src/core/mod.ts";
import { MemoryBroker } from "../src/broker/memory/memory_broker.ts";
import { CertificateAuthority } from "../src/tls/mod.ts";
import { encodeLengthPrefixed, FrameParser } from "./transports/frame_parser.ts";
import type { TransportKind } from "./transport.ts";

/** A running hub with its three transports. */
export interface HubServers {
  hub: Hub;
  /** Base URL for `new SwitchyardClient(url)`. */
  url: string;
  close(): Promise<void>;
}

/** Start the hub and its endpoints on 127.0.0.1 (random ports). */
export async function startHubServers(): Promise<HubServers> {
  const broker = new MemoryBroker();
  const historical = { ...DEFAULT_NAMESPACE, historySize: 10_000 };
  const hub = new Hub({
    broker,
    presence: broker,
    authenticator: ANONYMOUS,
    namespaces: new Namespaces(DEFAULT_NAMESPACE, { h: historical }),
    limits: DEFAULT_LIMITS,
    session: { graceMs: 30_000, pingIntervalMs: 5_000, pingTimeoutMs: 4_000, dedupeWindow: 1024 },
  });
  await hub.start();
  const closers: (() => void)[] = [];
  const connection = (
    transport: TransportKind,
    send: (frame: string) => void,
    close: (code: number, reason: string) => void,
  ): Connection => ({ transport, remoteAddress: "127.0.0.1", bufferedAmount: 0, send, close });

  const ca = await CertificateAuthority.generate();
  const leaf = await ca.issue();
  const quic = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
  const listener = quic.listen({ cert: leaf.certPem, key: leaf.keyPem, alpnProtocols: ["h3"] });
  (async () => {
    while (true) {
      let conn: Deno.QuicConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      serveWebTransport(conn).catch(() => {});
    }
  })();
  async function serveWebTransport(conn: Deno.QuicConn): Promise<void> {
    const wt = await Deno.upgradeWebTransport(conn);
    await wt.ready;
    const { value: stream } = await wt.incomingBidirectionalStreams.getReader().read();
    if (!stream) return;
    const writer = stream.writable.getWriter();
    let open = true;
    const link = hub.open(connection("webtransport", (frame) => {
      if (open) writer.write(encodeLengthPrefixed(frame)).catch(() => {});
    }, (code, reason) => {
      open = false;
      // Let queued frames (the disconnect) leave first: closing the session drops them.
      setTimeout(() => {
        try {
          wt.close({ closeCode: code, reason });
        } catch { /* gone */ }
      }, 30);
    }));
    closers.push(() => {
      try {
        wt.close();
      } catch { /* gone */ }
    });
    wt.closed.catch(() => {}).finally(() => link.closed());
    const parser = new FrameParser();
    try {
      for await (const chunk of stream.readable) {
        for (const f of parser.push(chunk)) link.receive(f);
      }
    } catch { /* session closed */ }
    link.closed();
  }

  const sse = new Map<string, { link: Link }>();
  let connIds = 0;
  const enc = new TextEncoder();
  const http: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
  }, async (req): Promise<Response> => {
    const url = new URL(req.url);
    const base = `127.0.0.1:${http.addr.port}`;
    if (url.pathname === "/switchyard/bootstrap.json") {
      return Response.json({
        version: "test",
        maxMessageBytes: DEFAULT_LIMITS.maxMessageBytes,
        transports: {
          webtransport: {
            url: `https://127.0.0.1:${quic.addr.port}/switchyard/wt`,
            certificateHashes: [leaf.hash.base64],
          },
          websocket: { url: `ws://${base}/switchyard/ws` },
          sse: { url: `http://${base}/switchyard/sse` },
        },
      });
    }
    if (url.pathname === "/switchyard/ws") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      const link = hub.open(connection("websocket", (f) => {
        if (socket.readyState === WebSocket.OPEN) socket.send(f);
      }, (code, reason) => socket.close(code, reason)));
      socket.onmessage = (ev) => link.receive(String(ev.data));
      socket.onclose = () => link.closed();
      closers.push(() => socket.close());
      return response;
    }
    if (url.pathname === "/switchyard/sse" && req.method === "GET") {
      const conn = `c${++connIds}`;
      let eventId = 0;
      let controller!: ReadableStreamDefaultController<Uint8Array>;
      let open = true;
      const end = () => {
        if (!open) return;
        open = false;
        sse.delete(conn);
        link.closed();
        try {
          controller.close();
        } catch { /* cancelled */ }
      };
      const link = hub.open(connection("sse", (f) => {
        if (open) controller.enqueue(enc.encode(`id: ${++eventId}\ndata: ${f}\n\n`));
      }, end));
      sse.set(conn, { link });
      closers.push(end);
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          controller = c;
          c.enqueue(enc.encode(`event: open\ndata: {"conn":"${conn}"}\n\n`));
        },
        cancel: end,
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    }
    const post = url.pathname.match(/^\/switchyard\/sse\/(.+)$/);
    if (post && req.method === "POST") {
      const entry = sse.get(post[1]);
      const text = await req.text();
      if (!entry) return new Response("unknown conn", { status: 404 });
      for (const line of text.split("\n")) if (line !== "") entry.link.receive(line);
      return new Response(null, { status: 204 });
    }
    return new Response("not found", { status: 404 });
  });

  return {
    hub,
    url: `http://127.0.0.1:${http.addr.port}`,
    async close() {
      for (const c of closers) c();
      await hub.shutdown();
      quic.close();
      await http.shutdown();
    },
  };
}
