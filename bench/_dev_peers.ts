/**
 * The dev servers of bench/dev_reload_bench.ts: `switchyard dev` and its Node
 * peers (Vite, live-server, browser-sync), each started on a temp copy of a
 * tiny site, on a free loopback port, with its own process's PID (Node peers
 * run as `node <bin script>`, never through npx).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { type Child, freePort, PEERS_DIR, sleep, spawn } from "./_processes.ts";

/** bench/peers, where the Node peers' node_modules live. */
const REPO_DIR = fileURLToPath(new URL("../", import.meta.url));

/** Names of the servers, in the order they run. */
export const DEV_SERVERS = ["switchyard", "vite", "live-server", "browser-sync"] as const;
/** One of {@linkcode DEV_SERVERS}. */
export type DevServerName = typeof DEV_SERVERS[number];

/** A dev server started by {@linkcode startDevServer}. */
export interface DevServer {
  name: DevServerName;
  child: Child;
  /** The page URL (http://127.0.0.1:PORT/). */
  url: string;
  /** The temp copy of the site it serves (where the benchmark saves `index.html`). */
  dir: string;
  /** Spawn → first `200` answer to `GET /`. */
  startupMs: number;
  /**
   * A page expression that is true once the page's live-reload client can
   * receive a change (see docs/benchmarks.md for how each is detected).
   */
  readyExpr: string;
  /** Remove the temp site and certificates (after `child.stop()`). */
  cleanup(): Promise<void>;
}

/**
 * Runs in every document before its own scripts: notes when a WebSocket opens
 * (how Vite's and live-server's clients are seen to be connected) and the time
 * the parser puts the `<h1>` text in the DOM (a `MutationObserver` callback).
 */
export const INIT_SCRIPT = `(() => {
  const Native = globalThis.WebSocket;
  globalThis.__wsOpen = false;
  globalThis.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("open", () => { globalThis.__wsOpen = true; });
    }
  };
  // The moment the parser has put the <h1> text in the new document: its DOM is there.
  const seen = () => {
    const h1 = document.querySelector("h1")?.textContent;
    if (!h1 || globalThis.__dom) return;
    globalThis.__dom = { h1, at: performance.timeOrigin + performance.now() };
    observer.disconnect();
  };
  const observer = new MutationObserver(seen);
  observer.observe(document, { childList: true, subtree: true, characterData: true });
})();`;

const READY: Record<DevServerName, string> = {
  switchyard: `globalThis.__switchyardDev?.client.state === "connected"`,
  vite: `globalThis.__wsOpen === true`,
  "live-server": `globalThis.__wsOpen === true`,
  "browser-sync": `globalThis.___browserSync___?.socket?.connected === true`,
};

/** The page of the tiny site, with `counter` in its `<h1>`. */
export function indexHtml(counter: number): string {
  return `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>dev bench</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1>${counter}</h1>
<script type="module" src="/app.js"></script>
</body>
</html>
`;
}

async function makeSite(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "switchyard-dev-bench-" });
  await Deno.writeTextFile(`${dir}/index.html`, indexHtml(0));
  await Deno.writeTextFile(`${dir}/style.css`, "h1 { color: #246; font-family: sans-serif; }\n");
  await Deno.writeTextFile(`${dir}/app.js`, "document.body.dataset.app = 'ok';\n");
  return dir;
}

function command(name: DevServerName, dir: string, port: number, certDir: string) {
  const bin = (p: string) => `${PEERS_DIR}node_modules/${p}`;
  switch (name) {
    case "switchyard":
      return {
        cmd: Deno.execPath(),
        cwd: REPO_DIR,
        args: [
          "run",
          "-A",
          "--unstable-net",
          // The same V8 flag as `deno task cli` (deno.json).
          "--v8-flags=--max-semi-space-size=1",
          `${REPO_DIR}src/cli/main.ts`,
          "dev",
          dir,
          "--host",
          "127.0.0.1",
          "--port",
          String(port),
          "--cert-dir",
          certDir,
          "--strict-port",
        ],
      };
    case "vite":
      return {
        cmd: "node",
        cwd: PEERS_DIR,
        args: [
          bin("vite/bin/vite.js"),
          dir,
          "--port",
          String(port),
          "--strictPort",
          "--host",
          "127.0.0.1",
        ],
      };
    case "live-server":
      return {
        cmd: "node",
        cwd: PEERS_DIR,
        args: [
          bin("live-server/live-server.js"),
          dir,
          `--port=${port}`,
          "--no-browser",
          "--host=127.0.0.1",
          "--wait=0",
        ],
      };
    case "browser-sync":
      return {
        cmd: "node",
        cwd: PEERS_DIR,
        args: [
          bin("browser-sync/dist/bin.js"),
          "start",
          "--server",
          dir,
          "--files",
          dir,
          "--port",
          String(port),
          "--listen",
          "127.0.0.1",
          "--no-open",
          "--no-ui",
          "--no-notify",
          "--no-online",
          "--reload-debounce",
          "0",
        ],
      };
  }
}

/**
 * Start `name` on a fresh copy of the site and resolve once `GET /` answers
 * `200` (that time is `startupMs`); throws after `timeoutMs`.
 */
export async function startDevServer(
  name: DevServerName,
  options: { timeoutMs?: number; certDir?: string } = {},
): Promise<DevServer> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const dir = await makeSite();
  // A given cert dir is the caller's to keep (a warm start); else a fresh one is made and removed.
  const ownCerts = options.certDir === undefined;
  const certDir = options.certDir ??
    await Deno.makeTempDir({ prefix: "switchyard-dev-bench-certs-" });
  const port = freePort();
  const { cmd, cwd, args } = command(name, dir, port, certDir);
  const cleanup = async () => {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    if (ownCerts) await Deno.remove(certDir, { recursive: true }).catch(() => {});
  };
  const t0 = performance.now();
  const child = spawn(cmd, { args, cwd, stdout: true, env: { NO_COLOR: "1", FORCE_COLOR: "0" } });
  // Keep reading stdout (a full pipe would block the server); Switchyard's `Local` line is checked.
  let localUrl: string | null = null;
  (async () => {
    for await (const line of child.lines) {
      const m = /^\s*Local\s+(http:\/\/\S+)/.exec(line);
      if (m && !localUrl) localUrl = m[1].replace("localhost", "127.0.0.1");
    }
  })().catch(() => {});
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + timeoutMs;
  let startupMs = -1;
  try {
    while (startupMs < 0) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        if (res.status === 200) startupMs = performance.now() - t0;
      } catch {
        // Not listening yet.
      }
      if (startupMs >= 0) break;
      if (Date.now() > deadline) throw new Error(`${name}: GET ${url} failed for ${timeoutMs} ms`);
      const exited = await Promise.race([child.process.status, sleep(5)]);
      if (exited) throw new Error(`${name} exited with code ${exited.code} before serving`);
    }
    if (name === "switchyard") {
      const until = Date.now() + 5_000;
      while (!localUrl && Date.now() < until) await sleep(10);
      if (localUrl !== url) {
        throw new Error(`switchyard printed Local ${localUrl}, expected ${url}`);
      }
    }
  } catch (err) {
    await child.stop();
    await cleanup();
    throw err;
  }
  return { name, child, url, dir, startupMs, readyExpr: READY[name], cleanup };
}

/** Versions of the peers, from their installed package.json files. */
export async function peerVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of ["vite", "live-server", "browser-sync"]) {
    const pkg = JSON.parse(await Deno.readTextFile(`${PEERS_DIR}node_modules/${p}/package.json`));
    out[p] = pkg.version;
  }
  return out;
}
