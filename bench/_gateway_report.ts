/**
 * The gateway benchmark's report: latency statistics, the HMR and HTTP tables, the verdict
 * against the aim, and the generated block of docs/benchmarks.md.
 *
 * @module
 */

import { fmt, ratio, type Stats } from "./_stats.ts";

/** Markers of the generated block in docs/benchmarks.md. */
export const GATEWAY_BEGIN = "<!-- GATEWAY-BENCH:BEGIN (written by bench/gateway_bench.ts) -->";
export const GATEWAY_END = "<!-- GATEWAY-BENCH:END -->";
/** The aim: the gateway adds at most this much to the HMR p99 (ms). */
export const HMR_P99_AIM_MS = 2;

/** Save → module updated, per page (ms). */
export interface HmrResult {
  gateway: Stats;
  direct: Stats;
  /** The same split at the update message's arrival: save → message, message → evaluated. */
  parts: Record<"gateway" | "direct", { socket: Stats; fetch: Stats }>;
}

/** One load-generator run. */
export interface LoadResult {
  path: "gateway" | "direct";
  concurrency: number;
  requests: number;
  errors: number;
  rps: number;
  p50: number;
  p99: number;
}

function signed(x: number): string {
  return `${x >= 0 ? "+" : "−"}${fmt(Math.abs(x))}`;
}

/** Save → module updated: gateway, direct, their difference and ratio. */
export function hmrTable(r: HmrResult): string {
  const row = (name: string, s: Stats) =>
    `| ${name} | ${fmt(s.p50)} | ${fmt(s.p95)} | ${fmt(s.p99)} | ${fmt(s.max)} | ${s.missed}/${
      s.n + s.missed
    } |`;
  const { gateway: g, direct: d } = r;
  return [
    "| page | save → module updated p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | missed |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    row("through the gateway", g),
    row("direct to Vite", d),
    `| gateway − direct | ${signed(g.p50 - d.p50)} | ${signed(g.p95 - d.p95)} | ${
      signed(g.p99 - d.p99)
    } | ${signed(g.max - d.max)} | |`,
    `| gateway / direct | ${ratio(g.p50, d.p50)} | ${ratio(g.p95, d.p95)} | ${
      ratio(g.p99, d.p99)
    } | ${ratio(g.max, d.max)} | |`,
    row("gateway: save → update message", r.parts.gateway.socket),
    row("direct: save → update message", r.parts.direct.socket),
    row("gateway: message → module evaluated", r.parts.gateway.fetch),
    row("direct: message → module evaluated", r.parts.direct.fetch),
  ].join("\n");
}

/** Requests per second and latency per concurrency, gateway against direct. */
export function loadTable(results: readonly LoadResult[]): string {
  const rows = [
    "| concurrency | path | req/s | p50 (ms) | p99 (ms) | errors | req/s gateway / direct | p50 gateway / direct | p99 gateway / direct |",
    "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const c of [...new Set(results.map((r) => r.concurrency))]) {
    const g = results.find((r) => r.concurrency === c && r.path === "gateway");
    const d = results.find((r) => r.concurrency === c && r.path === "direct");
    for (const r of [g, d]) {
      if (!r) continue;
      const ratios = r === g && d
        ? `${ratio(g.rps, d.rps)} | ${ratio(g.p50, d.p50)} | ${ratio(g.p99, d.p99)}`
        : " | | ";
      rows.push(
        `| ${c} | ${r.path === "gateway" ? "through the gateway" : "direct to Vite"} | ${
          fmt(r.rps)
        } | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.errors} | ${ratios} |`,
      );
    }
  }
  return rows.join("\n");
}

/** Plain sentences: the aim and what makes a figure doubtful. */
export function verdict(hmr: HmrResult, reloads: number): string[] {
  const added = hmr.gateway.p99 - hmr.direct.p99;
  const met = added <= HMR_P99_AIM_MS;
  return [
    `- The gateway adds ≤ ${HMR_P99_AIM_MS} ms to the HMR p99: ${met ? "**met**" : "**missed**"} ` +
    `(${signed(added)} ms: ${fmt(hmr.gateway.p99)} ms through the gateway, ${
      fmt(hmr.direct.p99)
    } ms direct; ${signed(hmr.gateway.p50 - hmr.direct.p50)} ms at p50).`,
    `- Every update was a hot update: ${reloads} page reloads, the marker set on each page when it ` +
    "opened was still there after its last save.",
  ];
}

/** Replace the generated block of `doc`, or append `section` (which holds it) when there is none. */
export function spliceGatewayReport(doc: string, block: string, section: string): string {
  const a = doc.indexOf(GATEWAY_BEGIN);
  const b = doc.indexOf(GATEWAY_END);
  if (a < 0 || b < a) return `${doc.trimEnd()}\n\n${section.replace("{{BLOCK}}", block)}\n`;
  return doc.slice(0, a) + block + doc.slice(b + GATEWAY_END.length);
}
