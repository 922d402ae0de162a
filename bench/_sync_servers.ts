/**
 * The document-sync servers of bench/sync_bench.ts and how to start each on a
 * free loopback port: Switchyard (SQLite, synchronous=full or normal), the
 * y-websocket server and Hocuspocus (in memory, or with its SQLite extension).
 * Node servers run as `node <script>`, never through npx, so the PID read is
 * the server's own.
 *
 * @module
 */

import {
  type Child,
  freePort,
  PEERS_DIR,
  sleep,
  spawn,
  switchyardServeArgs,
} from "./_processes.ts";

/** Keys of the servers, in run order. */
export const SYNC_SERVERS = [
  "switchyard",
  "switchyard-normal",
  "y-websocket",
  "hocuspocus",
  "hocuspocus-sqlite",
] as const;
/** One of {@linkcode SYNC_SERVERS}. */
export type SyncServerKey = typeof SYNC_SERVERS[number];

/** What each server is and when it stores an update, for the report. */
export const SYNC_LABELS: Record<SyncServerKey, { name: string; storage: string }> = {
  switchyard: { name: "Switchyard (full)", storage: "SQLite, each update, before sending" },
  "switchyard-normal": {
    name: "Switchyard (normal)",
    storage: "SQLite, each update, before sending",
  },
  "y-websocket": { name: "y-websocket server", storage: "memory only" },
  hocuspocus: { name: "Hocuspocus", storage: "memory only" },
  "hocuspocus-sqlite": { name: "Hocuspocus + SQLite", storage: "SQLite, whole doc, 2-10 s later" },
};

/** Which client library the load generator uses for a server (bench/peers/sync_load.mjs). */
export type SyncClient = "y-websocket" | "hocuspocus";

/** A server started by {@linkcode startSyncServer}. */
export interface SyncServer {
  key: SyncServerKey;
  child: Child;
  port: number;
  /** WebSocket URL the clients take (the room is appended by the client). */
  url: string;
  client: SyncClient;
  /** Spawn → first HTTP answer to `GET /`. */
  startupMs: number;
  /** Metrics URL (Switchyard only). */
  metricsUrl?: string;
  /** Remove the server's temp dir (after `child.stop()`). */
  cleanup(): Promise<void>;
}

interface Command {
  cmd: string;
  args: string[];
  env: Record<string, string>;
  url: string;
  client: SyncClient;
}

function command(key: SyncServerKey, port: number, dir: string): Command {
  switch (key) {
    case "switchyard":
    case "switchyard-normal":
      return {
        cmd: Deno.execPath(),
        args: switchyardServeArgs(port),
        env: {
          SWITCHYARD_SYNC_DATABASE: `${dir}/sync.db`,
          SWITCHYARD_SYNC_SYNCHRONOUS: key === "switchyard" ? "full" : "normal",
        },
        url: `ws://127.0.0.1:${port}/yjs`,
        client: "y-websocket",
      };
    case "y-websocket":
      return {
        cmd: "node",
        // The package's bin script; it reads HOST and PORT.
        args: [`${PEERS_DIR}node_modules/@y/websocket-server/src/server.js`],
        env: { HOST: "127.0.0.1", PORT: String(port) },
        url: `ws://127.0.0.1:${port}`,
        client: "y-websocket",
      };
    case "hocuspocus":
    case "hocuspocus-sqlite":
      return {
        cmd: "node",
        args: [
          `${PEERS_DIR}hocuspocus_server.mjs`,
          String(port),
          ...(key === "hocuspocus-sqlite" ? [`${dir}/hocuspocus.sqlite`] : []),
        ],
        env: {},
        url: `ws://127.0.0.1:${port}`,
        client: "hocuspocus",
      };
  }
}

/**
 * Start `key` in a fresh temp dir (its cwd and database folder) and resolve once
 * `GET /` gets any HTTP answer (that time is `startupMs`); throws after `timeoutMs`.
 */
export async function startSyncServer(
  key: SyncServerKey,
  timeoutMs = 30_000,
): Promise<SyncServer> {
  const dir = await Deno.makeTempDir({ prefix: "switchyard-sync-bench-" });
  const cleanup = () => Deno.remove(dir, { recursive: true }).catch(() => {});
  const port = freePort();
  const { cmd, args, env, url, client } = command(key, port, dir);
  const t0 = performance.now();
  // stdout is discarded: the Node servers print a banner, Switchyard its URLs.
  const child = spawn(cmd, { args, env: { ...env, NO_COLOR: "1" }, cwd: dir });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/`, {
          signal: AbortSignal.timeout(2_000),
        });
        await res.body?.cancel();
        break;
      } catch {
        // Not listening yet.
      }
      if (Date.now() > deadline) {
        throw new Error(`${key}: no answer on port ${port} in ${timeoutMs} ms`);
      }
      const exited = await Promise.race([child.process.status, sleep(5)]);
      if (exited) throw new Error(`${key} exited with code ${exited.code} before serving`);
    }
  } catch (err) {
    await child.stop();
    await cleanup();
    throw err;
  }
  const startupMs = performance.now() - t0;
  const metricsUrl = key.startsWith("switchyard") ? `http://127.0.0.1:${port}/metrics` : undefined;
  return { key, child, port, url, client, startupMs, metricsUrl, cleanup };
}

/** Versions of the peers, from their installed package.json files. */
export async function syncPeerVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (
    const p of [
      "@y/websocket-server",
      "@hocuspocus/server",
      "@hocuspocus/provider",
      "@hocuspocus/extension-sqlite",
      "better-sqlite3",
      "y-websocket",
      "yjs",
      "ws",
    ]
  ) {
    const pkg = JSON.parse(await Deno.readTextFile(`${PEERS_DIR}node_modules/${p}/package.json`));
    out[p] = pkg.version;
  }
  return out;
}
