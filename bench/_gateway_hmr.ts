/**
 * The HMR half of bench/gateway_bench.ts: a Vite project whose `hmr.js` accepts its own hot
 * updates and records when each version evaluates, and the saves timed in two Chromium pages
 * of one Vite, one through the gateway and one straight to Vite's port.
 *
 * @module
 */

import type { Browser, Page } from "playwright-core";
import { writeViteProject } from "../test/_vite.ts";
import { sleep } from "./_processes.ts";
import type { HmrResult } from "./_gateway_report.ts";
import { stats } from "./_stats.ts";

/** A save not seen by a page within this long counts as missed. */
const SAVE_DEADLINE_MS = 5_000;
/** Quiet time after both pages saw a save, before the next one. */
const GAP_MS = 50;

/**
 * `hmr.js` at version `seq`: it stamps its evaluation with the wall clock the writer uses
 * (`performance.timeOrigin + performance.now()`) and accepts itself, so a save re-runs it
 * without reloading the page.
 */
export function hmrSource(seq: number): string {
  return `export const seq = ${seq};
const at = performance.timeOrigin + performance.now();
(window.__evals ??= []).push({ seq, at });
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
    'import { render } from "./counter.js";\nimport "./hmr.js";\nrender();\n',
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

/** When `page` evaluated version `seq` of `hmr.js`; throws when the page was reloaded. */
async function evaluatedAt(p: WatchedPage, seq: number): Promise<number> {
  const handle = await p.page.waitForFunction(
    (s: number) => {
      const g = globalThis as { __marker?: number; __evals?: { seq: number; at: number }[] };
      if (g.__marker !== 1) return "reloaded";
      return g.__evals?.find((e) => e.seq === s)?.at ?? false;
    },
    seq,
    { timeout: SAVE_DEADLINE_MS, polling: 5 },
  );
  const at = await handle.jsonValue();
  if (at === "reloaded") throw new Error(`The ${p.name} page was reloaded, not hot-updated`);
  return at as number;
}

/**
 * `warmup` unmeasured then `saves` measured saves of `dir/hmr.js`; both pages get every save
 * (one Vite broadcasts it to both), so they see the same conditions.
 */
export async function measureHmr(
  dir: string,
  pages: readonly [WatchedPage, WatchedPage],
  options: { saves: number; warmup: number },
): Promise<HmrResult & { reloads: number }> {
  const [gw, direct] = pages;
  const loads = pages.map((p) => p.loads);
  const samples = { gateway: [] as number[], direct: [] as number[], paired: [] as number[] };
  const missed = { gateway: 0, direct: 0 };
  const total = options.warmup + options.saves;
  for (let seq = 1; seq <= total; seq++) {
    const measure = seq > options.warmup;
    const t0 = now();
    await Deno.writeTextFile(`${dir}/hmr.js`, hmrSource(seq));
    const seen = await Promise.allSettled([evaluatedAt(gw, seq), evaluatedAt(direct, seq)]);
    for (const [i, s] of seen.entries()) {
      if (s.status === "rejected" && /reloaded/.test(String(s.reason))) throw s.reason;
      const key = pages[i].name;
      if (s.status === "fulfilled") {
        if (measure) samples[key].push(s.value - t0);
      } else {
        if (measure) missed[key]++;
        console.error(`  save ${seq} not seen by the ${key} page: ${s.reason}`);
      }
    }
    if (measure && seen[0].status === "fulfilled" && seen[1].status === "fulfilled") {
      samples.paired.push(seen[0].value - seen[1].value);
    }
    await sleep(GAP_MS);
  }
  for (const [i, p] of pages.entries()) {
    const marker = await p.page.evaluate(() => (globalThis as { __marker?: number }).__marker);
    if (marker !== 1 || p.loads !== loads[i]) {
      throw new Error(`The ${p.name} page was reloaded during the run: not every update was HMR`);
    }
  }
  return {
    gateway: stats(samples.gateway, missed.gateway),
    direct: stats(samples.direct, missed.direct),
    paired: stats(samples.paired),
    reloads: pages.reduce((n, p, i) => n + p.loads - loads[i], 0),
  };
}
