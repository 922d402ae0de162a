/**
 * The fan-out benchmark's report: a markdown table with absolute figures and
 * ours/theirs ratios, a verdict against the project's aims, and the generated
 * block of docs/benchmarks.md.
 *
 * @module
 */

import type { ScenarioResult } from "./_scenario.ts";
import { fmt, ratio } from "./_stats.ts";

/** Where and with what the benchmark ran. */
export interface RunInfo {
  date: string;
  command: string;
  machine: string;
  versions: string;
  method: string;
}

const BEGIN = "<!-- BENCH:BEGIN (written by bench/fanout_bench.ts) -->";
const END = "<!-- BENCH:END -->";
/** Background load (other processes and hypervisor steal) above which a result is flagged. */
const SKEWED_CORES = 0.4;

/** The results table: one block of rows per subscriber count. */
export function resultsTable(results: readonly ScenarioResult[]): string {
  const rows = [
    "| subscribers | metric | Switchyard | Socket.IO | ours / theirs | bare Deno (floor) |",
    "| ---: | --- | ---: | ---: | ---: | ---: |",
  ];
  for (const n of subscriberCounts(results)) {
    const [ours, theirs, floor] = ["switchyard", "socketio", "bare"].map((s) =>
      results.find((r) => r.server === s && r.subscribers === n)
    );
    const row = (metric: string, get: (r: ScenarioResult) => number | undefined) => {
      const [a, b, c] = [ours, theirs, floor].map((r) => (r ? get(r) : undefined));
      rows.push(
        `| ${n.toLocaleString("en-US")} | ${metric} | ${fmt(a)} | ${fmt(b)} | ${ratio(a, b)} | ${
          fmt(c)
        } |`,
      );
    };
    row("server RSS per idle connection (KiB)", (r) => r.rssPerConnectionKb);
    row("delivery latency p50 (ms)", (r) => r.paced.p50Ms);
    row("delivery latency p99 (ms)", (r) => r.paced.p99Ms);
    row("deliveries/s, ack-paced burst (higher is better)", (r) => r.burst?.deliveriesPerSec);
    row("deliveries/s, fixed pace (= offered load)", (r) => r.paced.deliveriesPerSec);
    row("server CPU per delivery (µs)", (r) => r.serverCpuPerDeliveryUs);
    row("connect + subscribe all (s)", (r) => r.connectMs / 1000);
  }
  return rows.join("\n");
}

/** Plain sentences: which aims are met, and how far ours is from the floor. */
export function verdict(results: readonly ScenarioResult[]): string[] {
  const lines: string[] = [];
  for (const n of subscriberCounts(results)) {
    const ours = results.find((r) => r.server === "switchyard" && r.subscribers === n);
    const theirs = results.find((r) => r.server === "socketio" && r.subscribers === n);
    const floor = results.find((r) => r.server === "bare" && r.subscribers === n);
    const at = `at ${n.toLocaleString("en-US")} subscribers`;
    if (ours && theirs) {
      const p99 = ours.paced.p99Ms / theirs.paced.p99Ms;
      lines.push(
        `- Latency aim (our p99 ≤ 0.5 × Socket.IO's) ${at}: ${
          p99 <= 0.5 ? "**met**" : "**missed**"
        } ` +
          `(${p99.toFixed(2)}×: ${fmt(ours.paced.p99Ms)} ms vs ${fmt(theirs.paced.p99Ms)} ms).`,
      );
      const mem = ours.rssPerConnectionKb / theirs.rssPerConnectionKb;
      lines.push(
        `- Memory aim (our RSS per idle connection ≤ Socket.IO's) ${at}: ` +
          `${mem <= 1 ? "**met**" : "**missed**"} (${mem.toFixed(2)}×).`,
      );
    }
    if (ours && floor) {
      const over = ours.rssPerConnectionKb - floor.rssPerConnectionKb;
      lines.push(
        `- Floor ${at}: ours uses ${fmt(over)} KiB per connection more than a bare ` +
          `\`Deno.upgradeWebSocket\` server (${
            (ours.rssPerConnectionKb / floor.rssPerConnectionKb).toFixed(2)
          }×).`,
      );
    }
    for (const r of [ours, theirs, floor]) {
      if (!r) continue;
      const lost = r.paced.expected - r.paced.delivered +
        (r.burst ? r.burst.expected - r.burst.delivered : 0);
      if (r.backgroundCores > SKEWED_CORES) {
        lines.push(
          `- **${r.server} ${at}: other processes kept ${
            r.backgroundCores.toFixed(2)
          } cores busy while it was measured: its figures are skewed.**`,
        );
      }
      if (lost > 0 || r.unexpectedCloses > 0) {
        lines.push(
          `- **${r.server} ${at}: ${lost} deliveries missing, ${r.unexpectedCloses} connections closed by the server.**`,
        );
      }
    }
  }
  return lines;
}

/** The generated block of docs/benchmarks.md. */
export function reportBlock(info: RunInfo, results: readonly ScenarioResult[]): string {
  return [
    BEGIN,
    "",
    `Run on ${info.date} with \`${info.command}\`.`,
    "",
    `- Machine: ${info.machine}`,
    `- Versions: ${info.versions}`,
    `- Method: ${info.method}`,
    "",
    resultsTable(results),
    "",
    ...verdict(results),
    "",
    END,
  ].join("\n");
}

/** Replace the generated block of `doc` (or append one when there is none). */
export function spliceReport(doc: string, block: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) return `${doc.trimEnd()}\n\n${block}\n`;
  return doc.slice(0, start) + block + doc.slice(end + END.length);
}

function subscriberCounts(results: readonly ScenarioResult[]): number[] {
  return [...new Set(results.map((r) => r.subscribers))].sort((a, b) => a - b);
}
