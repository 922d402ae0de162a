/**
 * One readiness probe against `127.0.0.1:port`. HTTP is spoken by hand over TCP rather than
 * with `fetch`, so no `HTTP_PROXY` setting or pooled connection gets between the probe and
 * the process.
 *
 * @module
 */

/** How to tell that a session's process is ready, always against `127.0.0.1:{port}`. */
export type Readiness =
  | { type: "tcp" }
  | {
    type: "http";
    /** Request path, e.g. `/session/a/`. */
    path: string;
    /** The status that means ready; by default any status below 500. */
    status?: number;
  };

/** True when the process answered as `readiness` asks within `timeoutMs`. */
export async function probe(
  port: number,
  readiness: Readiness,
  timeoutMs: number,
): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  const abort = new AbortController();
  const timer = setTimeout(() => {
    abort.abort();
    conn?.close();
  }, timeoutMs);
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port, signal: abort.signal });
    if (readiness.type === "tcp") return true;
    const request = `GET ${readiness.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      "Accept: */*\r\nConnection: close\r\n\r\n";
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(1024);
    let head = "";
    while (!head.includes("\r\n") && head.length < 8192) {
      const n = await conn.read(buffer);
      if (n === null) break;
      head += new TextDecoder().decode(buffer.subarray(0, n));
    }
    const status = Number(/^HTTP\/\d(?:\.\d)? (\d{3})/.exec(head)?.[1]);
    if (!status) return false;
    return readiness.status === undefined ? status < 500 : status === readiness.status;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch {
      // Already closed by the timeout.
    }
  }
}
