/**
 * The document-sync benchmark's report: latency statistics, the results and
 * ratio tables, the verdict against the aims, and the generated block of
 * docs/benchmarks.md.
 *
 * @module
 */

import { SYNC_LABELS, type SyncServerKey } from "./_sync_servers.ts";
import { fmt, ratio, type Stats } from "./_stats.ts";

/** Markers of the generated block in docs/benchmarks.md. */
export const SYNC_BEGIN = "<!-- SYNC-BENCH:BEGIN -->";
export const SYNC_END = "<!-- SYNC-BENCH:END -->";
/** Other work above this many busy cores flags a server's figures as skewed. */
const SKEWED_CORES = 0.4;
/** The aim for our p95 (ms). */
const P95_AIM_MS = 10;

/** Switchyard's own account of its commits (its /metrics, read after the run). */
export interface CommitStats {
  commits: number;
  updates: number;
  meanMs: number;
}

/** Everything measured on one server. */
export interface SyncResult {
  key: SyncServerKey;
  startupMs: number;
  /** RSS after start-up, before any client (MB). */
  rssEmptyMb: number;
  /** RSS once every client is connected and synced (MB). */
  rssIdleMb: number;
  /** RSS after the last measured update (MB). */
  rssAfterMb: number;
  /** All clients connected and synced (ms). */
  connectMs: number;
  latency: Stats;
  /** Server CPU time (user + system) over the measured updates, per update (µs). */
  cpuPerUpdateUs: number;
  /** Cores kept busy by processes other than the benchmark's while this server was measured. */
  backgroundCores: number;
  /** Share of the time the databases' disk was busy (anyone's I/O, ours included), 0-1. */
  diskBusy: number;
  /** Client connections the server dropped during the run. */
  disconnects: number;
  commits?: CommitStats;
}

function label(key: SyncServerKey): string {
  return SYNC_LABELS[key].name;
}

/** One row per server: latency, memory, start-up. */
export function resultsTable(results: readonly SyncResult[]): string {
  const rows = [
    "| server | stores | p50 (ms) | p95 (ms) | p99 (ms) | max (ms) | missed | server CPU per update (µs) | start-up (ms) | RSS empty (MB) | RSS idle, all clients (MB) | RSS after run (MB) | all clients synced (ms) | busy cores (other work) | disk busy |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of results) {
    const l = r.latency;
    rows.push(
      `| ${label(r.key)} | ${SYNC_LABELS[r.key].storage} | ${fmt(l.p50)} | ${fmt(l.p95)} | ${
        fmt(l.p99)
      } | ${fmt(l.max)} | ${l.missed}/${l.n + l.missed} | ${fmt(r.cpuPerUpdateUs)} | ${
        r.startupMs.toFixed(0)
      } | ${r.rssEmptyMb.toFixed(1)} | ${r.rssIdleMb.toFixed(1)} | ${r.rssAfterMb.toFixed(1)} | ${
        r.connectMs.toFixed(0)
      } | ${r.backgroundCores.toFixed(2)} | ${
        Number.isFinite(r.diskBusy) ? `${(r.diskBusy * 100).toFixed(0)}%` : "—"
      } |`,
    );
  }
  return rows.join("\n");
}

/** Ours / theirs for every pair of a Switchyard run and a peer (lower is better throughout). */
export function ratioTable(results: readonly SyncResult[]): string {
  const ours = results.filter((r) => r.key.startsWith("switchyard"));
  const peers = results.filter((r) => !r.key.startsWith("switchyard"));
  const rows = [
    "| ours / theirs | p50 | p95 | p99 | server CPU per update | start-up | RSS idle | RSS after run |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const o of ours) {
    for (const p of peers) {
      rows.push(
        `| ${label(o.key)} / ${label(p.key)} | ${ratio(o.latency.p50, p.latency.p50)} | ${
          ratio(o.latency.p95, p.latency.p95)
        } | ${ratio(o.latency.p99, p.latency.p99)} | ${
          ratio(o.cpuPerUpdateUs, p.cpuPerUpdateUs)
        } | ${ratio(o.startupMs, p.startupMs)} | ${ratio(o.rssIdleMb, p.rssIdleMb)} | ${
          ratio(o.rssAfterMb, p.rssAfterMb)
        } |`,
      );
    }
  }
  return rows.join("\n");
}

/** Plain sentences: the aims, our commits, and anything that makes a figure doubtful. */
export function verdict(results: readonly SyncResult[]): string[] {
  const word = (ok: boolean) => ok ? "**met**" : "**missed**";
  const lines: string[] = [];
  const ours = results.find((r) => r.key === "switchyard");
  const normal = results.find((r) => r.key === "switchyard-normal");
  const peers = results.filter((r) => !r.key.startsWith("switchyard"));
  if (ours) {
    lines.push(
      `- p95 ≤ ${P95_AIM_MS} ms (synchronous=full): ${word(ours.latency.p95 <= P95_AIM_MS)} (${
        fmt(ours.latency.p95)
      } ms${normal ? `; synchronous=normal ${fmt(normal.latency.p95)} ms` : ""}).`,
    );
    if (peers.length) {
      const ahead = peers.every((p) => ours.latency.p95 < p.latency.p95);
      const each = peers.map((p) => `${label(p.key)} ${fmt(p.latency.p95)} ms`).join(", ");
      lines.push(
        `- p95 ahead of every peer (synchronous=full): ${word(ahead)} (ours ${
          fmt(ours.latency.p95)
        } ms; ${each}).`,
      );
    }
  }
  for (const r of results) {
    if (r.commits && r.commits.commits > 0) {
      lines.push(
        `- ${label(r.key)} committed ${r.commits.updates.toLocaleString("en-US")} updates in ${
          r.commits.commits.toLocaleString("en-US")
        } SQLite transactions (${(r.commits.updates / r.commits.commits).toFixed(2)} per commit), ${
          fmt(r.commits.meanMs)
        } ms per commit on average (its /metrics).`,
      );
    }
  }
  for (const r of results) {
    if (r.backgroundCores > SKEWED_CORES) {
      lines.push(
        `- **${label(r.key)}: other processes kept ${
          r.backgroundCores.toFixed(2)
        } cores busy while it was measured: its figures are skewed.**`,
      );
    }
    if (r.latency.missed > 0 || r.disconnects > 0) {
      lines.push(
        `- **${
          label(r.key)
        }: ${r.latency.missed} updates not seen within 5 s, ${r.disconnects} client disconnects.**`,
      );
    }
  }
  return lines;
}

/** Replace the generated block of `doc`, or append one when there is none. */
export function spliceSyncReport(doc: string, block: string): string {
  const a = doc.indexOf(SYNC_BEGIN);
  const b = doc.indexOf(SYNC_END);
  if (a < 0 || b < a) return `${doc.trimEnd()}\n\n${block}\n`;
  return doc.slice(0, a) + block + doc.slice(b + SYNC_END.length);
}
