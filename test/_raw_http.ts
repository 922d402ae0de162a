/**
 * HTTP/1.1 and a WebSocket handshake over a bare TCP connection, for tests that need a `Host`
 * header of their choice: Deno's `fetch` and `WebSocket` always send the URL's own host.
 *
 * @module
 */

import { deadline } from "./_deadline.ts";

/** What {@linkcode rawRequest} received. */
export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** Options of {@linkcode rawRequest} and {@linkcode rawWebSocket}. */
export interface RawRequestOptions {
  /** The `Host` header to send. */
  host: string;
  method?: string;
  /** Request target; default `/`. */
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Default 20 s. */
  timeoutMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * One request to 127.0.0.1:`port` with `Connection: close`; the whole response, chunked
 * bodies decoded.
 */
export async function rawRequest(port: number, options: RawRequestOptions): Promise<RawResponse> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const body = options.body ?? "";
    const head = requestHead(options, {
      connection: "close",
      ...(body || options.method === "POST" ? { "content-length": String(body.length) } : {}),
    });
    await writeAll(conn, encoder.encode(head + body));
    const bytes = await deadline(
      new Response(conn.readable).bytes(),
      options.timeoutMs ?? 20_000,
      `${options.method ?? "GET"} ${options.host}${options.path ?? "/"}`,
    );
    const { status, headers, rest } = parseHead(bytes);
    const payload = headers.get("transfer-encoding")?.includes("chunked") ? dechunk(rest) : rest;
    return { status, headers, text: decoder.decode(payload) };
  } finally {
    try {
      conn.close();
    } catch { /* closed by reading to the end */ }
  }
}

/** What {@linkcode rawWebSocket} saw: the handshake's answer and the first text message. */
export interface RawWebSocket {
  status: number;
  headers: Headers;
  /** The first message of the server (a text frame), when the upgrade succeeded. */
  first?: string;
  /** The body of a refused upgrade. */
  text: string;
}

/**
 * Opens a WebSocket to 127.0.0.1:`port` with `Host: options.host` and `protocols` offered,
 * reads the server's first text frame (a server that says something on open), then closes.
 */
export async function rawWebSocket(
  port: number,
  options: RawRequestOptions & { protocols?: string[] },
): Promise<RawWebSocket> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const what = `WebSocket ${options.host}${options.path ?? "/"}`;
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      conn,
      encoder.encode(requestHead(options, {
        connection: "Upgrade",
        upgrade: "websocket",
        "sec-websocket-version": "13",
        "sec-websocket-key": key,
        ...(options.protocols ? { "sec-websocket-protocol": options.protocols.join(", ") } : {}),
      })),
    );
    const reader = conn.readable.getReader();
    let buffer: Uint8Array = new Uint8Array(0);
    const more = async () => {
      const { value, done } = await deadline(reader.read(), options.timeoutMs ?? 20_000, what);
      if (done) throw new Error(`${what}: the connection closed`);
      buffer = concat(buffer, value);
    };
    while (headEnd(buffer) < 0) await more();
    const { status, headers, rest } = parseHead(buffer);
    if (status !== 101) {
      buffer = rest;
      const length = Number(headers.get("content-length") ?? 0);
      while (buffer.length < length) await more();
      reader.releaseLock();
      return { status, headers, text: decoder.decode(buffer.subarray(0, length)) };
    }
    buffer = rest;
    while (buffer.length < 2) await more();
    const opcode = buffer[0] & 0x0f;
    let length = buffer[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      while (buffer.length < 4) await more();
      length = (buffer[2] << 8) | buffer[3];
      offset = 4;
    }
    while (buffer.length < offset + length) await more();
    if (opcode !== 1) throw new Error(`${what}: first frame has opcode ${opcode}, not text`);
    const first = decoder.decode(buffer.subarray(offset, offset + length));
    // A masked close frame (code 1000), as a client must send.
    await writeAll(conn, new Uint8Array([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]));
    reader.releaseLock();
    return { status, headers, first, text: "" };
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

function requestHead(options: RawRequestOptions, extra: Record<string, string>): string {
  const lines = [`${options.method ?? "GET"} ${options.path ?? "/"} HTTP/1.1`];
  for (
    const [name, value] of Object.entries({ host: options.host, ...extra, ...options.headers })
  ) {
    lines.push(`${name}: ${value}`);
  }
  return lines.join("\r\n") + "\r\n\r\n";
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let written = 0; written < bytes.length;) {
    written += await conn.write(bytes.subarray(written));
  }
}

function headEnd(bytes: Uint8Array): number {
  for (let i = 0; i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

function parseHead(bytes: Uint8Array): { status: number; headers: Headers; rest: Uint8Array } {
  const end = headEnd(bytes);
  if (end < 0) throw new Error("Incomplete HTTP response head");
  const [statusLine, ...lines] = decoder.decode(bytes.subarray(0, end)).split("\r\n");
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(statusLine.split(" ")[1]), headers, rest: bytes.subarray(end + 4) };
}

function dechunk(bytes: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    let lineEnd = at;
    while (lineEnd + 1 < bytes.length && !(bytes[lineEnd] === 13 && bytes[lineEnd + 1] === 10)) {
      lineEnd++;
    }
    const size = parseInt(decoder.decode(bytes.subarray(at, lineEnd)), 16);
    if (!size) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return parts.reduce(concat, new Uint8Array(0));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
