/**
 * Private to the gateway's tests: a tiny dev server (HTTP under `/session/{id}/` and a
 * WebSocket echo) run as a real Deno process, a front server around a
 * {@linkcode GatewayService}, and waiting with deadlines.
 *
 * @module
 */

import type { Logger } from "../../core/mod.ts";
import { type GatewayOptions, GatewayService } from "./gateway_service.ts";
import type { SessionState } from "./supervisor.ts";
import { deadline } from "./_proxy_testing.ts";

export { deadline };

/** Resolves with what `fn` returns once it is truthy; rejects after `ms`. */
export async function until<T>(fn: () => T, ms: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Arguments: port, id, milliseconds to wait before listening, address to listen on. Prints a
 * line first, so a test can see output before the process is ready.
 */
const DEV_SERVER = `
const [port, id, delay = "0", hostname = "127.0.0.1"] = Deno.args;
console.log("booting <" + id + ">");
await new Promise((r) => setTimeout(r, Number(delay)));
Deno.serve({ hostname, port: Number(port), onListen() {
  console.log("listening on " + port);
} }, (req) => {
  const url = new URL(req.url);
  if (!url.pathname.startsWith("/session/" + id + "/")) {
    return new Response("not under my base", { status: 404 });
  }
  if (req.headers.get("upgrade") === "websocket") {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.onmessage = (e) => socket.send(id + ":" + e.data);
    return response;
  }
  return new Response("hello from " + id + " " + url.pathname + url.search);
});
`;

/** Writes the dev server to a temporary directory; returns its path and a cleanup. */
export async function devServerScript(): Promise<{ path: string; remove(): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "gateway_test_" });
  const path = `${dir}/dev_server.js`;
  await Deno.writeTextFile(path, DEV_SERVER);
  return { path, remove: () => Deno.remove(dir, { recursive: true }) };
}

/** The dev server's command template; `delayMs` postpones its listening. */
export function devServerCommand(script: string, delayMs = 0): string[] {
  return [Deno.execPath(), "run", "--no-config", "--allow-net", script, "{port}", "{id}"]
    .concat(delayMs ? [String(delayMs)] : []);
}

/** `count` consecutive ports that are free now, starting at a random high port. */
export function freePortRange(count: number): [number, number] {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * 30_000);
    const listeners: Deno.Listener[] = [];
    try {
      for (let p = first; p < first + count; p++) {
        listeners.push(Deno.listen({ hostname: "127.0.0.1", port: p }));
      }
      return [first, first + count - 1];
    } catch {
      // One was taken: try elsewhere.
    } finally {
      for (const l of listeners) l.close();
    }
  }
  throw new Error(`No ${count} consecutive free ports found`);
}

/** A logger that keeps nothing. */
export const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A gateway with test defaults and a front server on an ephemeral port. */
export function serveGateway(options: Partial<GatewayOptions> & { command: string[] }) {
  const gateway = new GatewayService({
    readiness: { type: "http", path: "/session/{id}/" },
    readyTimeoutMs: 15_000,
    idleTimeoutMs: 600_000,
    maxSessions: 5,
    portRange: freePortRange(5),
    startOnRequest: false,
    log: quiet,
    restart: { maxRestarts: 3, windowMs: 60_000, backoffMs: [20, 100] },
    stopGraceMs: 2000,
    ...options,
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req, info) =>
      gateway.handle(req, {
        url: new URL(req.url),
        remoteAddress: info.remoteAddr.hostname,
        secure: false,
      }),
  );
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    gateway,
    base,
    ws: `ws://127.0.0.1:${server.addr.port}`,
    async close() {
      await gateway.close();
      await server.shutdown();
    },
  };
}

/** Resolves when session `id` enters `state`; rejects after `ms`. */
export function stateOf(
  gateway: GatewayService,
  id: string,
  state: SessionState,
  ms = 15_000,
): Promise<void> {
  const { promise, resolve } = Promise.withResolvers<void>();
  const off = gateway.onState((sid, s) => {
    if (sid === id && s === state) resolve();
  });
  if (gateway.list().find((s) => s.id === id)?.state === state) resolve();
  return deadline(promise, `session "${id}" ${state}`, ms).finally(off);
}

/** Text of a GET through the gateway. */
export async function getText(url: string, headers: HeadersInit = {}) {
  const res = await deadline(fetch(url, { headers }), `GET ${url}`, 20_000);
  return { status: res.status, headers: res.headers, text: await res.text() };
}
