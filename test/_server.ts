/**
 * Starts a real Switchyard in this process for a test: ports 0, a fresh cert
 * directory, configuration from TOML text.
 *
 * @module
 */

import { startSwitchyard, type Switchyard } from "../src/app/mod.ts";
import { loadConfig } from "../src/config/mod.ts";
import { createLogger } from "../src/ops/logger.ts";
import type { NamespaceOptions } from "../src/core/mod.ts";

/** A running test server. */
export interface TestServer {
  app: Switchyard;
  /** `http://127.0.0.1:PORT` (plain HTTP). */
  http: string;
  /** `https://127.0.0.1:PORT` (TLS; WebTransport on the same UDP port). */
  https: string;
  /** PEM of the local CA, for Deno clients over TLS. */
  caPem: string;
  close(): Promise<void>;
}

/** Options of {@linkcode startTestServer}. */
export interface TestServerOptions {
  /** switchyard.toml contents. */
  toml?: string;
  /** Extra flags, e.g. `{ "log-level": "debug" }`. */
  flags?: Record<string, string | boolean>;
  /** Environment (SWITCHYARD_*). */
  env?: Record<string, string>;
  /** Namespaces a service adds (passed to `startSwitchyard`). */
  namespaces?: Record<string, NamespaceOptions>;
}

const DEFAULT_TOML = `
[session]
ping_interval_ms = 2000
ping_timeout_ms = 2000

[limits]
publish_rate = 100000
publish_burst = 100000

[namespaces.test]
history_size = 20000
history_ttl_ms = 600000
presence = true
`;

/** Start Switchyard on free ports. */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const certDir = await Deno.makeTempDir({ prefix: "switchyard-test-certs-" });
  const config = await loadConfig({
    flags: {
      port: "0",
      "http-port": "0",
      host: "127.0.0.1",
      "cert-dir": certDir,
      "log-level": "error",
      config: "/virtual/switchyard.toml",
      ...options.flags,
    },
    env: { SWITCHYARD_SYNC_DATABASE: `${certDir}/sync.db`, ...options.env },
    cwd: Deno.cwd(),
    readFile: (path) =>
      path.endsWith("/virtual/switchyard.toml")
        ? Promise.resolve(options.toml ?? DEFAULT_TOML)
        : Deno.readTextFile(path),
  });
  const app = await startSwitchyard(config, {
    log: createLogger({ level: config.logLevel, format: "pretty" }),
    namespaces: options.namespaces,
  });
  app.hub.rpc("echo", (data) => data);
  const caPem = await Deno.readTextFile(`${certDir}/ca.crt`).catch(() => "");
  return {
    app,
    http: app.server.httpUrl?.replace("localhost", "127.0.0.1") ?? "",
    https: app.server.httpsUrl?.replace("localhost", "127.0.0.1") ?? "",
    caPem,
    async close() {
      await app.close();
      await Deno.remove(certDir, { recursive: true }).catch(() => {});
    },
  };
}

/** The default TOML of test servers (namespace `test` keeps 20,000 publications). */
export const TEST_TOML = DEFAULT_TOML;
