/**
 * The session gateway against Vite on its own, on this machine, in one run: a real Switchyard
 * (`[gateway]` on, as a child process) runs one Vite session; headless Chromium opens pages
 * through the gateway (`/session/a/`) and straight to the same Vite's port. Then:
 *
 * - **HMR**: N saves per page of a module that accepts itself; save → its new version
 *   evaluated, the two pages taking turns in blocks (every update must be hot, never a reload).
 * - **HTTP**: concurrent GETs of a ~3 KB Vite module through the gateway and direct, at
 *   concurrency 1 and 32 (a Deno load generator in a child process).
 * - **Memory**: the server's RSS, idle, with the one session and its two pages connected.
 *
 * ```sh
 * deno task bench:gateway              # 200 saves, 5 s per load run; updates docs/benchmarks.md
 * deno task bench:gateway --quick      # 20 saves, 1 s per load run; docs untouched
 * deno task bench:gateway --saves 100 --no-write
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { signToken } from "../src/auth/mod.ts";
import { launchBrowser } from "../test/_browser.ts";
import { ensureVite, VITE_BIN, viteGatewayToml } from "../test/_vite.ts";
import { waitForQuiet } from "./_machine.ts";
import {
  type Child,
  freePort,
  medianRssKb,
  nextEvent,
  runBench,
  spawn,
  switchyardServeArgs,
  waitForPort,
} from "./_processes.ts";
import { BLOCK, measureHmr, openPage, writeBenchProject } from "./_gateway_hmr.ts";
import {
  GATEWAY_BEGIN,
  GATEWAY_END,
  hmrTable,
  type LoadResult,
  loadTable,
  spliceGatewayReport,
  verdict,
} from "./_gateway_report.ts";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const SECRET = "gateway-bench-secret-0123456789abcdefghij";
/** The whole run stops itself after this long. */
const WATCHDOG_MS = 5 * 60_000;
const CONCURRENCIES = [1, 32];

interface Plan {
  saves: number;
  warmup: number;
  loadMs: number;
}

/** Starts Switchyard with `[gateway]` as `deno task cli` would, on a free port. */
async function startServer(root: string): Promise<{ child: Child; base: string }> {
  const port = freePort();
  const low = 20_000 + Math.floor(Math.random() * 30_000);
  await Deno.writeTextFile(
    `${root}/switchyard.toml`,
    viteGatewayToml(root, [low, low + 3], {
      secret: SECRET,
      readyTimeoutMs: 30_000,
      maxSessions: 2,
    }),
  );
  const child = spawn(Deno.execPath(), {
    args: switchyardServeArgs(port, [`--config=${root}/switchyard.toml`]),
    cwd: root,
    env: { SWITCHYARD_SYNC_DATABASE: `${root}/sync.db` },
  });
  await waitForPort(port, child);
  return { child, base: `http://127.0.0.1:${port}` };
}

/** Starts session `id` (the request waits for Vite) and returns Vite's port and PID. */
async function startSession(base: string, id: string): Promise<{ port: number; pid: number }> {
  const token = await signToken({ sub: "bench", sessions: [id] }, { secret: SECRET, alg: "HS256" });
  const res = await fetch(`${base}/session/${id}/`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(40_000),
  });
  await res.body?.cancel();
  if (res.status !== 200) throw new Error(`Session ${id} did not start: ${res.status}`);
  const admin = await signToken({ sub: "bench", gateway: "admin" }, {
    secret: SECRET,
    alg: "HS256",
  });
  const list = await (await fetch(`${base}/gateway/sessions`, {
    headers: { authorization: `Bearer ${admin}` },
  })).json();
  const session = (list.sessions ?? list).find((s: { id: string }) => s.id === id);
  if (!session?.port || !session?.pid) {
    throw new Error(`No port for session ${id}: ${JSON.stringify(list)}`);
  }
  return { port: session.port, pid: session.pid };
}

async function loadRun(
  url: string,
  path: LoadResult["path"],
  concurrency: number,
  plan: Plan,
  cookie: string,
): Promise<LoadResult> {
  const child = spawn(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${REPO_ROOT}bench/_gateway_load.ts`,
      url,
      String(concurrency),
      String(plan.loadMs),
      `cookie=${cookie}`,
    ],
    stdout: true,
  });
  try {
    const r = await nextEvent<
      { event: string; requests: number; errors: number; firstError: string; seconds: number } & {
        p50: number;
        p99: number;
      }
    >(child, "result", plan.loadMs + 30_000);
    if (r.errors > 0) {
      console.error(`  ${path} c=${concurrency}: ${r.errors} errors (${r.firstError})`);
    }
    return {
      path,
      concurrency,
      requests: r.requests,
      errors: r.errors,
      rps: r.requests / r.seconds,
      p50: r.p50,
      p99: r.p99,
    };
  } finally {
    await child.stop();
  }
}

async function versions(browser: Browser): Promise<string> {
  const node = await new Deno.Command("node", { args: ["--version"], stdout: "piped" }).output()
    .then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "?");
  const vite = JSON.parse(
    await Deno.readTextFile(VITE_BIN.replace(/bin\/vite\.js$/, "package.json")),
  ).version;
  return `Deno ${Deno.version.deno}, Node ${node}, Vite ${vite}, Chromium ${browser.version()} ` +
    "(headless)";
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      "no-write": { type: "boolean" },
      saves: { type: "string" },
    },
  });
  const quick = values.quick === true;
  const plan: Plan = {
    saves: Number(values.saves ?? (quick ? 20 : 200)),
    warmup: quick ? 3 : 5,
    loadMs: quick ? 1_000 : 5_000,
  };
  const started = Date.now();
  const installMs = await ensureVite();
  if (installMs > 0) console.error(`npm ci of Vite took ${Math.round(installMs)} ms`);
  const root = await Deno.makeTempDir({ prefix: "switchyard-gateway-bench-" });
  let server: Child | undefined;
  let browser: Browser | undefined;
  try {
    await writeBenchProject(`${root}/a`, "a");
    const busyBefore = await waitForQuiet();
    const started1 = await startServer(root);
    server = started1.child;
    const base = started1.base;
    const vite = await startSession(base, "a");
    console.error(`Switchyard pid ${server.pid} at ${base}; Vite pid ${vite.pid} on ${vite.port}`);

    const token = await signToken({ sub: "bench", sessions: ["a"] }, {
      secret: SECRET,
      alg: "HS256",
    });
    browser = await launchBrowser();
    const pages = browser;
    const wsBase = base.replace(/^http/, "ws");
    const open = {
      gateway: async () => {
        const page = await openPage(pages, "gateway", `${base}/session/a/?token=${token}`);
        for (const url of page.sockets) {
          if (!url.startsWith(`${wsBase}/session/a/`)) {
            throw new Error(`${url} bypassed the gateway`);
          }
        }
        return page;
      },
      direct: () => openPage(pages, "direct", `http://127.0.0.1:${vite.port}/session/a/`),
    };
    // Both pages open while the memory is read, as a session with a user on it would be.
    const [gw, direct] = [await open.gateway(), await open.direct()];
    const rssMb = (await medianRssKb(server.pid)) / 1024;
    const viteRssMb = (await medianRssKb(vite.pid)) / 1024;
    console.error(`Idle RSS: server ${rssMb.toFixed(1)} MB, Vite ${viteRssMb.toFixed(1)} MB`);
    await Promise.all([gw.page.context().close(), direct.page.context().close()]);

    console.error(`HMR: ${plan.saves} saves per page, blocks of ${BLOCK}…`);
    const hmr = await measureHmr(`${root}/a`, open, plan).catch(async (error) => {
      // Vite's own account of what happened, through the gateway's API.
      const admin = await signToken({ sub: "bench", gateway: "admin" }, {
        secret: SECRET,
        alg: "HS256",
      });
      const res = await fetch(`${base}/gateway/sessions/a/logs?limit=20`, {
        headers: { authorization: `Bearer ${admin}` },
      });
      const { lines = [] } = await res.json() as { lines?: { text: string }[] };
      throw new Error(
        `${error.message}\nVite's last lines:\n${lines.map((l) => l.text).join("\n")}`,
      );
    });
    const browserVersion = await versions(browser);
    await browser.close();
    browser = undefined;

    const cookie = `sy_session_a=${token}`;
    const urls = {
      gateway: `${base}/session/a/module.js`,
      direct: `http://127.0.0.1:${vite.port}/session/a/module.js`,
    };
    const probe = await fetch(urls.direct);
    const moduleBytes = (await probe.arrayBuffer()).byteLength;
    const load: LoadResult[] = [];
    for (const concurrency of CONCURRENCIES) {
      // Alternate which goes first, so a machine warming up or slowing down hits both.
      const order = concurrency % 2 === 0
        ? (["gateway", "direct"] as const)
        : (["direct", "gateway"] as const);
      for (const path of order) {
        console.error(`HTTP: ${path}, concurrency ${concurrency}…`);
        load.push(await loadRun(urls[path], path, concurrency, plan, cookie));
      }
    }

    const tables = [hmrTable(hmr), loadTable(load)];
    const verdicts = verdict(hmr, hmr.reloads);
    const memory = `- Idle RSS with one session and both pages connected: Switchyard ` +
      `${rssMb.toFixed(1)} MB (Vite ${viteRssMb.toFixed(1)} MB).`;
    console.log(`\n${tables.join("\n\n")}\n\n${verdicts.join("\n")}\n${memory}`);
    console.log(`\n${Math.round((Date.now() - started) / 1000)} s in all`);
    if (quick || values["no-write"]) return;
    const cpu = /^model name\s*:\s*(.+)$/m.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ??
      "?";
    const gib = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1);
    const block = [
      GATEWAY_BEGIN,
      "",
      `Run on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with \`${
        ["deno task bench:gateway", ...Deno.args].join(" ")
      }\`.`,
      "",
      `- Machine: ${navigator.hardwareConcurrency} CPUs (${cpu}), ${gib} GiB, Linux ${Deno.osRelease()}; ` +
      `${busyBefore.toFixed(2)} cores busy with other work at the start`,
      `- Versions: ${browserVersion}`,
      `- ${plan.saves} measured saves per page, 50 ms apart, in blocks of ${BLOCK} that alternate ` +
      `between the pages (one open at a time, ${plan.warmup} unmeasured saves opening each ` +
      "block); HTTP: GET of `module.js` " +
      `(${(moduleBytes / 1024).toFixed(1)} KB after Vite's transform), ${
        plan.loadMs / 1000
      } s per run after 0.3 s of warm-up`,
      "",
      ...tables.flatMap((t) => [t, ""]),
      ...verdicts,
      memory,
      "",
      GATEWAY_END,
    ].join("\n");
    const path = `${REPO_ROOT}docs/benchmarks.md`;
    await Deno.writeTextFile(
      path,
      spliceGatewayReport(await Deno.readTextFile(path), block, SECTION),
    );
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
    console.log(`Updated ${path}`);
  } finally {
    await browser?.close().catch(() => {});
    // SIGTERM: the server stops its sessions (Vite's process group) before it exits.
    await server?.stop(10_000);
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/** The section added to docs/benchmarks.md on the first full run; later runs replace the block. */
const SECTION = `## Session gateway: HMR and HTTP through the gateway against Vite direct

\`deno task bench:gateway\` (bench/gateway_bench.ts) runs a real Switchyard with \`[gateway]\`
enabled and one Vite session (the Vite of test/fixtures/vite, installed with \`npm ci\` on first
use), opens one headless Chromium page through the gateway (\`/session/a/\`) and one straight to the
same Vite's port, and compares them. A full run updates the block between the \`GATEWAY-BENCH\`
markers below; the rest of this section is written by hand.

\`\`\`sh
deno task bench:gateway              # 200 saves per page, 5 s per HTTP run, ~80 s
deno task bench:gateway --quick      # 20 saves, 1 s per HTTP run; docs untouched
deno task bench:gateway --saves 100 --no-write
\`\`\`

### Method

- **Server**: \`deno run -A --unstable-net --v8-flags=--max-semi-space-size=1 src/cli/main.ts serve
  --no-tls\` on 127.0.0.1 with \`[auth] hmac_secret\` and \`[gateway]\` (\`ready = "/session/{id}/"\`),
  the session's command being Vite's CLI with \`--base /session/{id}/ --strictPort --host 127.0.0.1\`
  and no Vite config file, as in test/gateway_vite_test.ts. The gateway page is opened by its token
  link (the session cookie then goes with every request, and every request is checked).
- **HMR**: \`hmr.js\`, imported by the page's \`main.js\`, records
  \`performance.timeOrigin + performance.now()\` when it evaluates and calls
  \`import.meta.hot.accept()\`. Each save writes a new version; latency is the writer's clock just
  before the write to the page's stamp of that version (both wall clocks of one machine). The two
  pages take turns in blocks of 25 saves, one page open at a time, so neither waits for the other's
  work, and a machine that drifts during the run drifts for both. Each page carries a marker set when
  it opens, and a run fails if it is gone or the page fired \`load\` again (a reload, not HMR).
- **HTTP**: a Deno load generator in its own process keeps \`concurrency\` GETs of
  \`/session/a/module.js\` in flight (body read each time), with the session cookie; the gateway
  and direct runs take turns. All processes (server, Vite, load generator) share the machine's
  cores.
- **Memory**: \`VmRSS\` of the server process (median of five readings 400 ms apart) with the session
  running and both pages connected, before the saves.

{{BLOCK}}
`;

if (import.meta.main) await runBench(main, WATCHDOG_MS);
