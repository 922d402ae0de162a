/**
 * Live-reload latency of `switchyard dev` against Vite, live-server and
 * browser-sync, on this machine, in headless Chromium.
 *
 * Each server is started on a temp copy of a tiny site (startup = spawn →
 * first `200` to `GET /`) and its idle RSS read; then each page is opened and
 * `index.html` saved N times per server, with a new counter in its `<h1>`,
 * round-robin over the servers in a few rounds, timing each save → the
 * reloaded page's DOM (the parser putting the new `<h1>` text in it). Then,
 * Switchyard only: save → `sys:dev` event in a page, over each transport.
 *
 * ```sh
 * deno task bench:dev             # 200 saves per server; updates docs/benchmarks.md
 * deno task bench:dev --quick     # 30 saves; docs untouched
 * deno task bench:dev --saves 100 --servers switchyard,vite --no-write
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchBrowser } from "../test/_browser.ts";
import { waitForQuiet } from "./_machine.ts";
import { installPeers, medianRssKb, runBench, sleep } from "./_processes.ts";
import {
  DEV_SERVERS,
  type DevServer,
  type DevServerName,
  indexHtml,
  INIT_SCRIPT,
  peerVersions,
  startDevServer,
} from "./_dev_peers.ts";
import { type Stats, stats } from "./_stats.ts";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const BEGIN = "<!-- DEV-BENCH:BEGIN (written by bench/dev_reload_bench.ts) -->";
const END = "<!-- DEV-BENCH:END -->";
/** The whole run stops itself after this long. */
const WATCHDOG_MS = 10 * 60_000;
/** A save not seen by the page within this long counts as missed. */
const SAVE_DEADLINE_MS = 5_000;
/** Quiet time between one save being seen (and the client reconnected) and the next save. */
const GAP_MS = 50;
const WARMUP_SAVES = 3;
/** Saves are interleaved across servers in this many rounds. */
const ROUNDS = 5;
const TRANSPORTS = ["webtransport", "websocket", "sse"] as const;

interface ServerResult {
  name: DevServerName;
  startupMs: number;
  idleRssMb: number;
  reload: Stats;
  /** Cores other work kept busy just before the server was started (Chromium idle). */
  busyCores: number;
}

/** Wall-clock milliseconds, the clock `performance.timeOrigin + performance.now()` gives a page. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

async function waitReady(page: Page, server: DevServer): Promise<void> {
  await page.waitForFunction(server.readyExpr, null, { timeout: SAVE_DEADLINE_MS });
}

/** One server's page and the save → reload samples taken on it so far. */
interface ReloadSession {
  server: DevServer;
  context: BrowserContext;
  page: Page;
  counter: number;
  samples: number[];
  missed: number;
}

async function openSession(browser: Browser, server: DevServer): Promise<ReloadSession> {
  const context = await browser.newContext();
  await context.addInitScript(INIT_SCRIPT);
  const page = await context.newPage();
  await page.goto(server.url);
  await waitReady(page, server);
  return { server, context, page, counter: 0, samples: [], missed: 0 };
}

/** `count` saves of `index.html` on `session`'s server; `measure: false` for warm-up. */
async function saveAndTime(session: ReloadSession, count: number, measure: boolean): Promise<void> {
  const { server, page } = session;
  for (let i = 0; i < count; i++) {
    const counter = ++session.counter;
    await page.evaluate(() => (globalThis as { __marker?: number }).__marker = 1);
    await sleep(GAP_MS);
    const t0 = now();
    await Deno.writeTextFile(`${server.dir}/index.html`, indexHtml(counter));
    try {
      const handle = await page.waitForFunction(
        (c: number) => {
          const g = globalThis as { __marker?: number; __dom?: { h1: string; at: number } };
          return g.__marker === undefined && g.__dom?.h1 === String(c) && g.__dom.at;
        },
        counter,
        { timeout: SAVE_DEADLINE_MS },
      );
      const t1 = await handle.jsonValue() as number;
      if (measure) session.samples.push(t1 - t0);
      await waitReady(page, server);
    } catch (err) {
      if (measure) session.missed++;
      console.error(`  ${server.name}: save ${counter} not seen: ${(err as Error).message}`);
      await page.goto(server.url);
      await waitReady(page, server);
    }
  }
}

/** Save → `sys:dev` publication in a page, one Switchyard client per transport. */
async function measureEvents(
  browser: Browser,
  server: DevServer,
  saves: number,
): Promise<Map<string, Stats>> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const out = new Map<string, Stats>();
  try {
    await page.goto(server.url);
    await waitReady(page, server);
    await page.evaluate((kinds: readonly string[]) => {
      type Client = {
        close(): void;
        subscribe(ch: string, o: { onPublication: () => void }): unknown;
        transport: string | null;
        state: string;
      };
      const g = globalThis as unknown as {
        __switchyardDev: { client: Client };
        __got: Record<string, Record<number, number>>;
        __seq: number;
        __clients: Record<string, Client>;
      };
      // The page's own client would reload the page on every change: close it, reuse its class.
      const Ctor = g.__switchyardDev.client.constructor as new (url: string, o: unknown) => Client;
      g.__switchyardDev.client.close();
      g.__got = {};
      g.__seq = 0;
      g.__clients = {};
      for (const k of kinds) {
        const c = new Ctor(location.origin, { transports: [k], storage: null });
        g.__got[k] = {};
        c.subscribe("sys:dev", {
          onPublication: () => {
            g.__got[k][g.__seq] ??= performance.timeOrigin + performance.now();
          },
        });
        g.__clients[k] = c;
      }
    }, TRANSPORTS);
    const live: string[] = [];
    for (const k of TRANSPORTS) {
      try {
        await page.waitForFunction(
          (k: string) => {
            const c = (globalThis as unknown as {
              __clients: Record<string, { transport: string | null; state: string }>;
            }).__clients[k];
            return c.transport === k && c.state === "connected";
          },
          k,
          { timeout: 10_000 },
        );
        live.push(k);
      } catch {
        console.error(`  switchyard: the ${k} client did not connect; skipped`);
      }
    }
    const samples = new Map(live.map((k) => [k, [] as number[]]));
    const missed = new Map(live.map((k) => [k, 0]));
    for (let i = 0; i < WARMUP_SAVES + saves; i++) {
      await page.evaluate((i: number) => (globalThis as { __seq?: number }).__seq = i, i);
      await sleep(GAP_MS);
      const t0 = now();
      await Deno.writeTextFile(`${server.dir}/probe.txt`, `${i}\n`);
      const got = await page.waitForFunction(
        ([i, kinds]: [number, string[]]) => {
          const g = globalThis as unknown as { __got: Record<string, Record<number, number>> };
          return kinds.every((k) => g.__got[k][i] !== undefined) && g.__got;
        },
        [i, live] as [number, string[]],
        { timeout: SAVE_DEADLINE_MS },
      ).then((h) => h.jsonValue() as Promise<Record<string, Record<number, number>>>)
        .catch(() => page.evaluate(() => (globalThis as unknown as { __got: never }).__got));
      if (i < WARMUP_SAVES) continue;
      for (const k of live) {
        const t1 = got[k][i];
        if (t1 === undefined) missed.set(k, missed.get(k)! + 1);
        else samples.get(k)!.push(t1 - t0);
      }
    }
    for (const k of live) out.set(k, stats(samples.get(k)!, missed.get(k)!));
  } finally {
    await context.close();
  }
  return out;
}

const ms = (x: number) => Number.isNaN(x) ? "—" : x < 10 ? x.toFixed(1) : x.toFixed(0);

function reloadTable(results: ServerResult[]): string {
  const ours = results.find((r) => r.name === "switchyard");
  const rows = [
    "| server | save → reload p50 (ms) | p99 (ms) | max (ms) | missed | startup (ms) | idle RSS (MB) | our p99 / theirs | busy cores at start |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of results) {
    const ratio = ours && r !== ours ? `${(ours.reload.p99 / r.reload.p99).toFixed(2)}×` : "—";
    rows.push(
      `| ${r.name} | ${ms(r.reload.p50)} | ${ms(r.reload.p99)} | ${
        ms(r.reload.max)
      } | ${r.reload.missed}/${r.reload.n + r.reload.missed} | ${r.startupMs.toFixed(0)} | ${
        r.idleRssMb.toFixed(1)
      } | ${ratio} | ${r.busyCores.toFixed(2)} |`,
    );
  }
  return rows.join("\n");
}

function eventTable(events: Map<string, Stats>): string {
  const rows = [
    "| Switchyard transport | save → event p50 (ms) | p99 (ms) | max (ms) | missed |",
    "| --- | ---: | ---: | ---: | ---: |",
  ];
  for (const [k, s] of events) {
    rows.push(
      `| ${k} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.max)} | ${s.missed}/${s.n + s.missed} |`,
    );
  }
  return rows.join("\n");
}

function verdict(results: ServerResult[], events: Map<string, Stats>): string[] {
  const ours = results.find((r) => r.name === "switchyard");
  if (!ours) return [];
  const word = (ok: boolean) => ok ? "**met**" : "**missed**";
  const lines: string[] = [];
  if (events.size) {
    const worst = Math.max(...[...events.values()].map((s) => s.p99));
    const each = [...events].map(([k, s]) => `${k} ${ms(s.p99)} ms`).join(", ");
    lines.push(`- Save → event p99 ≤ 25 ms on every transport: ${word(worst <= 25)} (${each}).`);
  }
  const peers = results.filter((r) => r !== ours);
  if (peers.length) {
    const ahead = peers.every((p) => ours.reload.p99 < p.reload.p99);
    const each = peers.map((p) => `${p.name} ${ms(p.reload.p99)} ms`).join(", ");
    lines.push(
      `- Save → reload p99 ahead of every peer: ${word(ahead)} (ours ${
        ms(ours.reload.p99)
      } ms; ${each}).`,
    );
  }
  lines.push(
    `- Startup ≤ 300 ms: ${word(ours.startupMs <= 300)} (${ours.startupMs.toFixed(0)} ms).`,
    `- Idle RSS ≤ 50 MB: ${word(ours.idleRssMb <= 50)} (${ours.idleRssMb.toFixed(1)} MB).`,
  );
  return lines;
}

async function runInfo(browser: Browser, saves: number): Promise<string[]> {
  const node = await new Deno.Command("node", { args: ["--version"], stdout: "piped" }).output()
    .then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "?");
  const v = await peerVersions();
  const cpu = /^model name\s*:\s*(.+)$/m.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "?";
  const gib = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1);
  return [
    `Run on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with \`${
      ["deno task bench:dev", ...Deno.args].join(" ")
    }\`.`,
    "",
    `- Machine: ${navigator.hardwareConcurrency} CPUs (${cpu}), ${gib} GiB, Linux ${Deno.osRelease()}`,
    `- Versions: Deno ${Deno.version.deno}, Node ${node}, Vite ${v.vite}, live-server ${
      v["live-server"]
    }, browser-sync ${v["browser-sync"]}, Chromium ${browser.version()} (headless)`,
    `- ${saves} measured saves per server after ${WARMUP_SAVES} unmeasured ones, ${GAP_MS} ms apart, ` +
    `interleaved across the servers in ${Math.min(ROUNDS, saves)} rounds`,
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      saves: { type: "string" },
      quick: { type: "boolean", default: false },
      servers: { type: "string", default: DEV_SERVERS.join(",") },
      "no-events": { type: "boolean", default: false },
      "no-write": { type: "boolean", default: false },
    },
  });
  const saves = Number(values.saves ?? (values.quick ? 30 : 200));
  const names = values.servers.split(",").map((s) => s.trim()) as DevServerName[];
  for (const n of names) {
    if (!DEV_SERVERS.includes(n)) throw new Error(`Unknown server "${n}": use ${DEV_SERVERS}`);
  }
  const started = Date.now();
  await installPeers(["vite", "live-server", "browser-sync"]);
  const browser = await launchBrowser();
  const results: ServerResult[] = [];
  let events = new Map<string, Stats>();
  const servers: DevServer[] = [];
  const certDir = await Deno.makeTempDir({ prefix: "switchyard-dev-bench-certs-" });
  try {
    // All servers run at once; saves go round-robin in rounds, so that other work on the
    // machine falls on every server alike rather than on whichever happened to run then.
    const idle = new Map<DevServerName, { rssMb: number; busyCores: number }>();
    for (const name of names) {
      const busyCores = await waitForQuiet(0.5, 20_000);
      // One unmeasured start first, so the measured one is a user's everyday (warm) start: caches
      // filled (Switchyard's certificates and client bundle; Node's and the OS's file caches).
      const warmup = await startDevServer(name, { certDir });
      await warmup.child.stop();
      await warmup.cleanup();
      console.error(`${name}: starting (warm)`);
      const server = await startDevServer(name, { certDir });
      servers.push(server);
      await sleep(1_000);
      const rssMb = (await medianRssKb(server.child.pid, 5, 200)) / 1024;
      idle.set(name, { rssMb, busyCores });
      console.error(`${name}: up in ${server.startupMs.toFixed(0)} ms, ${rssMb.toFixed(1)} MB`);
    }
    const sessions: ReloadSession[] = [];
    for (const server of servers) {
      sessions.push(await openSession(browser, server));
      await saveAndTime(sessions.at(-1)!, WARMUP_SAVES, false);
    }
    const rounds = Math.min(ROUNDS, saves);
    for (let r = 0; r < rounds; r++) {
      const count = Math.floor(saves * (r + 1) / rounds) - Math.floor(saves * r / rounds);
      console.error(`round ${r + 1}/${rounds}: ${count} saves per server`);
      for (const session of sessions) await saveAndTime(session, count, true);
    }
    for (const session of sessions) {
      await session.context.close();
      const { rssMb, busyCores } = idle.get(session.server.name)!;
      results.push({
        name: session.server.name,
        startupMs: session.server.startupMs,
        idleRssMb: rssMb,
        reload: stats(session.samples, session.missed),
        busyCores,
      });
    }
    const ours = servers.find((s) => s.name === "switchyard");
    if (ours && !values["no-events"]) {
      console.error(`switchyard: ${saves} saves → events`);
      events = await measureEvents(browser, ours, saves);
    }
    const info = await runInfo(browser, saves);
    const tables = [reloadTable(results), ...(events.size ? [eventTable(events)] : [])];
    const verdicts = verdict(results, events);
    console.log(`\n${tables.join("\n\n")}\n\n${verdicts.join("\n")}`);
    console.log(`\n${Math.round((Date.now() - started) / 1000)} s in all`);
    if (values.quick || values["no-write"]) return;
    const block = [BEGIN, "", ...info, "", ...tables.flatMap((t) => [t, ""]), ...verdicts, "", END]
      .join("\n");
    const path = `${REPO_ROOT}docs/benchmarks.md`;
    const doc = await Deno.readTextFile(path);
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    const next = a >= 0 && b > a
      ? doc.slice(0, a) + block + doc.slice(b + END.length)
      : `${doc.trimEnd()}\n\n${block}\n`;
    await Deno.writeTextFile(path, next);
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
    console.log(`Updated ${path}`);
  } finally {
    await browser.close();
    for (const server of servers) {
      await server.child.stop();
      await server.cleanup();
    }
    await Deno.remove(certDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await runBench(main, WATCHDOG_MS);
