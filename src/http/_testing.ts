/**
 * Private to the tests of src/http and src/transports: a real hub behind a
 * real server with a throwaway certificate, and one test client per transport.
 *
 * @module
 */

import {
  ANONYMOUS,
  type Authenticator,
  DEFAULT_LIMITS,
  DEFAULT_NAMESPACE,
  DEFAULT_TIMING,
  Hub,
  type HubLimits,
  type Logger,
  Namespaces,
  type TransportKind,
} from "../core/mod.ts";
import { MemoryBroker } from "../broker/memory/memory_broker.ts";
import { CertificateManager } from "../tls/mod.ts";
import { type ClientOptions, connectClient, type TestClient } from "./_test_clients.ts";
import { type HttpServer, type ServerOptions, startServer } from "./server.ts";

/** Polls `check` every 10 ms until it is true; rejects after `ms`. */
export async function eventually(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`Timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A logger that keeps what it is given. */
export function memoryLogger(): Logger & { lines: { level: string; msg: string }[] } {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (msg: string) => void lines.push({ level, msg });
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

/** A running test server and what its clients need. */
export interface TestEnv {
  hub: Hub;
  server: HttpServer;
  certs: CertificateManager;
  /** Trusts the test CA; for fetch and WebSocket. */
  client: Deno.HttpClient;
  log: ReturnType<typeof memoryLogger>;
  /** Base URL of the HTTPS listener (`https://127.0.0.1:port`), or of plain HTTP without TLS. */
  base: string;
  /** Open a test client of `kind`. */
  connect(kind: TransportKind, options?: ClientOptions): Promise<TestClient>;
}

/** Options of the test environment. */
export interface TestEnvOptions extends Partial<Omit<ServerOptions, "hub">> {
  limits?: Partial<HubLimits>;
  authenticator?: Authenticator;
  /** What the server gets instead of the hub itself. */
  wrapHub?: (hub: Hub) => ServerOptions["hub"];
}

/** Start a hub and a server on 127.0.0.1 port 0, run `fn`, then stop everything. */
export async function withServer(
  options: TestEnvOptions,
  fn: (env: TestEnv) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "switchyard_http_" });
  const certs = await CertificateManager.open({ dir });
  const broker = new MemoryBroker();
  const limits = { ...DEFAULT_LIMITS, maxMessageBytes: 1024, ...options.limits };
  const hub = new Hub({
    broker,
    presence: broker,
    authenticator: options.authenticator ?? ANONYMOUS,
    namespaces: new Namespaces(DEFAULT_NAMESPACE, {}),
    limits,
    session: DEFAULT_TIMING,
  });
  await hub.start();
  const log = memoryLogger();
  const client = Deno.createHttpClient({ caCerts: [certs.caCertPem] });
  let server: HttpServer | undefined;
  try {
    server = await startServer({
      hostname: "127.0.0.1",
      port: 0,
      certificates: certs,
      maxMessageBytes: limits.maxMessageBytes,
      log,
      ...options,
      hub: options.wrapHub?.(hub) ?? hub,
    });
    const s = server;
    const base = s.httpsUrl?.replace("localhost", "127.0.0.1") ?? s.httpUrl!;
    const env: TestEnv = {
      hub,
      server: s,
      certs,
      client,
      log,
      base,
      connect: (kind, o = {}) =>
        connectClient(kind, {
          httpClient: client,
          base,
          quicPort: s.quicPort,
          certificateHash: certs.current.hash.value,
        }, o),
    };
    await fn(env);
  } finally {
    await server?.close();
    await server?.finished;
    await hub.shutdown();
    client.close();
    await Deno.remove(dir, { recursive: true });
  }
}

export {
  type ClientOptions,
  type CloseInfo,
  deadline,
  type Frame,
  SseClient,
  type TestClient,
  WsClient,
  WtClient,
} from "./_test_clients.ts";
