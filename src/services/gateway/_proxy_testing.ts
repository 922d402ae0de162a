/**
 * Private to the proxy's tests: real upstreams on 127.0.0.1, a front server
 * that proxies to them, a raw TCP upstream for exact bytes, and deadlines.
 *
 * @module
 */

import { concatBytes } from "../../core/bytes.ts";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { type ProxyOptions, proxyRequest } from "./proxy.ts";

/** Rejects if `promise` has not settled within `ms`. */
export function deadline<T>(promise: Promise<T>, what: string, ms = 5_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** A server on 127.0.0.1 with an ephemeral port; `close()` stops it. */
export interface TestServer {
  port: number;
  base: string;
  close(): Promise<void>;
}

/** Serves `handler` on 127.0.0.1, port 0. */
export function serve(handler: Deno.ServeHandler<Deno.NetAddr>): TestServer {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  const port = server.addr.port;
  return { port, base: `http://127.0.0.1:${port}`, close: () => server.shutdown() };
}

/** A front server that proxies every request to `upstreamPort`. */
export function serveProxy(upstreamPort: number, options: ProxyOptions = {}): TestServer {
  return serve((req, info) =>
    proxyRequest(req, { port: upstreamPort }, {
      forwardedFor: info.remoteAddr.hostname,
      ...options,
    })
  );
}

/** A port with nothing listening on it. */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * A TCP upstream that answers each connection with what `respond` returns
 * for the request head it read, then closes. `heads` holds every head seen.
 */
export function rawUpstream(
  respond: (head: string, conn: Deno.TcpConn) => Promise<Uint8Array | null> | Uint8Array | null,
): TestServer & { heads: string[] } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const heads: string[] = [];
  const conns = new Set<Deno.TcpConn>();
  const handle = async (conn: Deno.TcpConn) => {
    conns.add(conn);
    try {
      const head = await readHead(conn);
      heads.push(head);
      const answer = await respond(head, conn);
      if (answer) await writeAll(conn, answer);
    } catch {
      // The peer went away; nothing to answer.
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  };
  const accepting = (async () => {
    for await (const conn of listener) handle(conn);
  })().catch(() => {});
  return {
    port,
    base: `http://127.0.0.1:${port}`,
    heads,
    async close() {
      listener.close();
      for (const conn of conns) conn.close();
      await accepting;
    },
  };
}

async function readHead(conn: Deno.TcpConn): Promise<string> {
  const decoder = new TextDecoder();
  const buf = new Uint8Array(16 * 1024);
  let text = "";
  while (!text.includes("\r\n\r\n")) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("Connection closed before the request head ended");
    text += decoder.decode(buf.subarray(0, n));
  }
  return text.slice(0, text.indexOf("\r\n\r\n"));
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** The value of header `name` in a raw request head, or null. */
export function headerOf(head: string, name: string): string | null {
  for (const line of head.split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (line.slice(0, colon).trim().toLowerCase() === name) return line.slice(colon + 1).trim();
  }
  return null;
}

/** The `Sec-WebSocket-Accept` answer to a handshake key (RFC 6455 §4.2.2). */
export async function websocketAccept(key: string): Promise<string> {
  const magic = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(magic));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}

/** GET with node:http, which hands over the body undecoded. */
export function rawGet(
  url: string,
): Promise<{ headers: Record<string, unknown>; body: Uint8Array }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { "accept-encoding": "gzip" } }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      res.on("end", () => resolve({ headers: res.headers, body: concatBytes(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** A WebSocket upstream that echoes, closes on "close:<code>:<reason>" and picks `vite-hmr`. */
export function wsUpstream() {
  const requests: { url: URL; headers: Headers }[] = [];
  const closes: CloseEvent[] = [];
  const closed = Promise.withResolvers<CloseEvent>();
  const server = serve((req) => {
    requests.push({ url: new URL(req.url), headers: new Headers(req.headers) });
    const offered = (req.headers.get("sec-websocket-protocol") ?? "").split(/\s*,\s*/);
    const { socket, response } = Deno.upgradeWebSocket(req, {
      protocol: offered.includes("vite-hmr") ? "vite-hmr" : undefined,
    });
    socket.onmessage = (e) => {
      const close = typeof e.data === "string" && e.data.match(/^close:(\d+):(.*)$/);
      if (close) socket.close(Number(close[1]), close[2]);
      else socket.send(e.data);
    };
    socket.onclose = (e) => {
      closes.push(e);
      closed.resolve(e);
    };
    return response;
  });
  return { ...server, requests, closes, closed: closed.promise };
}

/** Opens a WebSocket and queues what it receives. */
export async function openClient(url: string, protocols?: string[]) {
  const ws = new WebSocket(url, protocols);
  ws.binaryType = "arraybuffer";
  const queue: (string | ArrayBuffer)[] = [];
  let wake = () => {};
  ws.onmessage = (e) => {
    queue.push(e.data);
    wake();
  };
  const closed = new Promise<CloseEvent>((resolve) => ws.addEventListener("close", resolve));
  await deadline(
    new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`WebSocket to ${url} failed to open`));
    }),
    "WebSocket open",
  );
  const next = () =>
    deadline(
      new Promise<string | ArrayBuffer>((resolve) => {
        if (queue.length) return resolve(queue.shift()!);
        wake = () => resolve(queue.shift()!);
      }),
      "WebSocket message",
    );
  return { ws, next, closed: deadline(closed, "WebSocket close") };
}

/** A WebSocket upgrade request as a browser sends it, for calling the proxy directly. */
export function upgradeRequest(path: string): Request {
  return new Request(`http://gw.example${path}`, {
    headers: {
      "upgrade": "websocket",
      "connection": "Upgrade",
      "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
      "sec-websocket-version": "13",
      "sec-websocket-protocol": "vite-hmr",
    },
  });
}

/** Asserts a JSON `{error, message}` response with `status` and `code`. */
export async function assertJsonError(res: Response, status: number, code: string): Promise<void> {
  assert.equal(res.status, status);
  const body = await res.json();
  assert.equal(body.error, code);
  assert.equal(typeof body.message, "string");
}
