/**
 * The HMR half of bench/gateway_bench.ts: a Vite project whose `hmr.js` accepts its own hot
 * updates and records when each version evaluates, and the saves timed in Chromium pages of one
 * Vite, through the gateway and straight to Vite's port, taking turns.
 *
 * @module
 */

import type { Browser, Page } from "playwright-core";
import { saveFile, writeViteProject } from "../test/_vite.ts";
import { sleep } from "./_processes.ts";
import type { HmrResult } from "./_gateway_report.ts";
import { stats } from "./_stats.ts";

/** A save not seen by a page within this long counts as missed. */
const SAVE_DEADLINE_MS = 5_000;
/** Quiet time after the page saw a save, before the next one. */
const GAP_MS = 50;

/**
 * `hmr.js` at version `seq`: it stamps its evaluation with the wall clock the writer uses
 * (`performance.timeOrigin + performance.now()`) and accepts itself, so a save re-runs it
 * without reloading the page.
 */
export function hmrSource(seq: number): string {
  return `export const seq = ${seq};
const at = performance.timeOrigin + performance.now();
(window.__evals ??= []).push({ seq, at, msg: window.__updateAt });
if (import.meta.hot) import.meta.hot.accept();
`;
}

/** A typical dev-server module of ~3 KB (after Vite's transform) for the HTTP load. */
function moduleSource(): string {
  const parts = ['import { label } from "./counter.js";'];
  for (let i = 0; i < 10; i++) {
    parts.push(`export function item${i}(x) {\n  return \`\${label}:${i}:\${x * ${i}}\`;\n}`);
  }
  return parts.join("\n") + "\n";
}

/** Writes session `id`'s project into `dir`: Vite's vanilla layout plus `hmr.js`, `module.js`. */
export async function writeBenchProject(dir: string, id: string): Promise<void> {
  await writeViteProject(dir, id, `${id}:v1`);
  await Deno.writeTextFile(`${dir}/hmr.js`, hmrSource(0));
  await Deno.writeTextFile(`${dir}/module.js`, moduleSource());
  await Deno.writeTextFile(
    `${dir}/main.js`,
    'import { render } from "./counter.js";\nimport "./hmr.js";\nrender();\n' +
      // When the update message arrived: splits save → evaluated into the socket and the fetch.
      'import.meta.hot?.on("vite:beforeUpdate", () => {\n' +
      "  window.__updateAt = performance.timeOrigin + performance.now();\n});\n",
  );
}

/** One page of the run and what it has seen. */
export interface WatchedPage {
  name: "gateway" | "direct";
  page: Page;
  loads: number;
  console: string[];
  sockets: string[];
}

/** Opens `url` in a fresh context and waits until Vite's client is connected. */
export async function openPage(
  browser: Browser,
  name: WatchedPage["name"],
  url: string,
): Promise<WatchedPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const watched: WatchedPage = { name, page, loads: 0, console: [], sockets: [] };
  page.on("console", (m) => watched.console.push(m.text()));
  page.on("websocket", (ws) => watched.sockets.push(ws.url()));
  page.on("load", () => watched.loads++);
  await page.goto(url);
  await page.waitForFunction(
    () => (globalThis as { __evals?: unknown[] }).__evals?.length,
    null,
    { timeout: 30_000 },
  );
  const until = Date.now() + 30_000;
  while (!watched.console.some((l) => l.includes("[vite] connected."))) {
    if (Date.now() > until) throw new Error(`The ${name} page's HMR never connected`);
    await sleep(20);
  }
  await page.evaluate(() => (globalThis as { __marker?: number }).__marker = 1);
  return watched;
}

/** Wall-clock ms, the clock `performance.timeOrigin + performance.now()` gives a page. */
function now(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * When `page` got the update message for version `seq` of `hmr.js` and when that version
 * evaluated; throws when the page was reloaded.
 */
async function evaluatedAt(p: WatchedPage, seq: number): Promise<{ at: number; msg: number }> {
  const handle = await p.page.waitForFunction(
    (s: number) => {
      const g = globalThis as {
        __marker?: number;
        __evals?: { seq: number; at: number; msg: number }[];
      };
      if (g.__marker !== 1) return "reloaded";
      return g.__evals?.find((e) => e.seq === s) ?? false;
    },
    seq,
    { timeout: SAVE_DEADLINE_MS, polling: 5 },
  );
  const at = await handle.jsonValue();
  if (at === "reloaded") {
    throw new Error(
      `The ${p.name} page was reloaded, not hot-updated; its console ended with:\n` +
        p.console.slice(-8).join("\n"),
    );
  }
  return at as { at: number; msg: number };
}

/** Saves per block: the pages take turns, one open at a time, `BLOCK` saves each. */
export const BLOCK = 25;

/**
 * `saves` measured saves of `dir/hmr.js` per page, in blocks of {@linkcode BLOCK} that
 * alternate between the pages (gateway first), each block after `warmup` unmeasured saves.
 * Only the block's page is open, so neither page waits for the other's work (one Vite would
 * otherwise send each update to both, in an order it picks); alternating spreads any drift of
 * the machine over both.
 */
export async function measureHmr(
  dir: string,
  open: Record<WatchedPage["name"], () => Promise<WatchedPage>>,
  options: { saves: number; warmup: number },
): Promise<HmrResult & { reloads: number }> {
  const samples = { gateway: [] as number[], direct: [] as number[] };
  const parts = {
    gateway: { socket: [] as number[], fetch: [] as number[] },
    direct: { socket: [] as number[], fetch: [] as number[] },
  };
  const missed = { gateway: 0, direct: 0 };
  let seq = 0;
  let reloads = 0;
  for (let block = 0; samples.direct.length + missed.direct < options.saves; block++) {
    const name = block % 2 === 0 ? "gateway" : "direct";
    const page = await open[name]();
    const loads = page.loads;
    const count = Math.min(BLOCK, options.saves - samples[name].length - missed[name]);
    for (let i = -options.warmup; i < count; i++) {
      seq++;
      const t0 = now();
      await saveFile(`${dir}/hmr.js`, hmrSource(seq));
      try {
        const { at, msg } = await evaluatedAt(page, seq);
        if (i >= 0) {
          samples[name].push(at - t0);
          parts[name].socket.push(msg - t0);
          parts[name].fetch.push(at - msg);
        }
      } catch (error) {
        if (/reloaded/.test(String(error))) throw error;
        if (i >= 0) missed[name]++;
        console.error(`  save ${seq} not seen by the ${name} page: ${error}`);
        console.error(`  its console: ${page.console.slice(-5).join(" | ")}`);
        console.error(
          `  its evals: ${
            JSON.stringify(
              await page.page.evaluate(() => (globalThis as { __evals?: unknown }).__evals),
            )
          }`,
        );
      }
      await sleep(GAP_MS);
    }
    const marker = await page.page.evaluate(() => (globalThis as { __marker?: number }).__marker);
    reloads += page.loads - loads;
    if (marker !== 1 || page.loads !== loads) {
      throw new Error(`The ${name} page was reloaded during the run: not every update was HMR`);
    }
    await page.page.context().close();
  }
  return {
    gateway: stats(samples.gateway, missed.gateway),
    direct: stats(samples.direct, missed.direct),
    parts: {
      gateway: { socket: stats(parts.gateway.socket), fetch: stats(parts.gateway.fetch) },
      direct: { socket: stats(parts.direct.socket), fetch: stats(parts.direct.fetch) },
    },
    reloads,
  };
}
