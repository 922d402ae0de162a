/**
 * Document-sync benchmark: Switchyard's `/yjs/{room}` against the y-websocket
 * server and Hocuspocus, side by side in one run on this machine.
 *
 * Every server is started (warm: one unmeasured start first) on a free
 * loopback port and gets its own Node load generator (bench/peers/sync_load.mjs)
 * with D documents × 2 stock clients. Then, in rounds that go round-robin over
 * the servers, client A of a document sets a key of a `Y.Map` and the time until
 * client B of that document sees it is taken, at a fixed pace spread over all
 * documents. Memory is the server's RSS empty, idle with every client
 * connected, and after the run.
 *
 * ```sh
 * deno task bench:sync             # 200 docs × 2 clients, 4,000 updates per server; updates docs
 * deno task bench:sync --quick     # 50 docs, 500 updates; docs untouched
 * deno task bench:sync --servers switchyard,hocuspocus --samples 2000 --no-write
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import {
  busyCores,
  diskBusyMs,
  machineTicks,
  processCpuSeconds,
  waitForQuiet,
} from "./_machine.ts";
import {
  type Child,
  installPeers,
  medianRssKb,
  nextEvent,
  PEERS_DIR,
  runBench,
  sleep,
  spawn,
} from "./_processes.ts";
import {
  startSyncServer,
  SYNC_SERVERS,
  syncPeerVersions,
  type SyncServer,
  type SyncServerKey,
} from "./_sync_servers.ts";
import {
  type CommitStats,
  ratioTable,
  resultsTable,
  spliceSyncReport,
  SYNC_BEGIN,
  SYNC_END,
  type SyncResult,
  verdict,
} from "./_sync_report.ts";
import { stats } from "./_stats.ts";

/** A JSON event line of the sync load generator. */
type SyncEvent = Record<string, unknown> & { event: string };

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
/** The whole run (after installing bench/peers) stops itself after this long. */
const WATCHDOG_MS = 6 * 60_000;
/** Packages of bench/peers this benchmark needs. */
const NEEDS = [
  "@y/websocket-server",
  "@hocuspocus/server",
  "@hocuspocus/provider",
  "@hocuspocus/extension-sqlite",
  "y-websocket",
  "yjs",
  "ws",
];

/** A server, its load generator and what was measured on it so far. */
interface Run {
  server: SyncServer;
  load: Child;
  connectMs: number;
  rssEmptyKb: number;
  rssIdleKb: number;
  samples: number[];
  missed: number;
  disconnects: number;
  /** Server CPU seconds and updates over the measured slices. */
  cpuSeconds: number;
  updates: number;
  /** CPU seconds of other work and wall seconds over the measured slices. */
  otherCpuSeconds: number;
  wallSeconds: number;
  /** Milliseconds the databases' disk was busy over the measured slices. */
  diskBusyMs: number;
}

interface Plan {
  docs: number;
  samples: number;
  perSec: number;
  rounds: number;
  warmupPerDoc: number;
}

/** Every process of the benchmark, this one included: their CPU is not "other work". */
function ownCpuSeconds(runs: readonly Run[]): number {
  return processCpuSeconds(Deno.pid) +
    runs.reduce(
      (s, r) => s + processCpuSeconds(r.server.child.pid) + processCpuSeconds(r.load.pid),
      0,
    );
}

/** The filesystem and block device (as named in /proc/diskstats) of the temp dirs. */
async function tempDisk(): Promise<{ fs: string; device: string }> {
  const dir = await Deno.realPath(Deno.env.get("TMPDIR") ?? "/tmp");
  const out = await new Deno.Command("findmnt", {
    args: ["-no", "FSTYPE,SOURCE", "-T", dir],
    stdout: "piped",
    stderr: "null",
  }).output().then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "");
  const [fs = "?", source = ""] = out.split(/\s+/);
  return { fs, device: source.replace(/^\/dev\//, "") };
}

/** Options of {@linkcode slice}. */
interface SliceOptions {
  /** Every run: their processes' CPU is not counted as other work. */
  all: readonly Run[];
  /** Block device of the databases. */
  disk: string;
  updates: number;
  perSec: number;
  /** Add the samples and counters to `run` (false for warm-up). */
  measure: boolean;
}

/** `updates` edits on `run`'s server at `perSec`. */
async function slice(run: Run, options: SliceOptions): Promise<void> {
  const { all, disk, updates, perSec, measure } = options;
  const before = {
    machine: machineTicks(),
    own: ownCpuSeconds(all),
    server: processCpuSeconds(run.server.child.pid),
    disk: diskBusyMs(disk),
    at: performance.now(),
  };
  await run.load.writeLine(JSON.stringify({ cmd: "run", updates, perSec }));
  const done = await nextEvent<SyncEvent>(run.load, "done", (updates / perSec) * 1000 + 30_000);
  const after = {
    machine: machineTicks(),
    own: ownCpuSeconds(all),
    server: processCpuSeconds(run.server.child.pid),
    disk: diskBusyMs(disk),
    at: performance.now(),
  };
  run.disconnects = done.disconnects as number;
  if (!measure) return;
  run.samples.push(...(done.samples as number[]));
  run.missed += done.missed as number;
  run.cpuSeconds += after.server - before.server;
  run.updates += updates;
  const machineBusy = (after.machine.busy - before.machine.busy) / 100;
  run.otherCpuSeconds += Math.max(0, machineBusy - (after.own - before.own));
  run.wallSeconds += (after.at - before.at) / 1000;
  run.diskBusyMs += after.disk - before.disk;
}

/** Switchyard's commit counters from its /metrics (read once, after the run: it loads prom-client). */
async function commitStats(url: string): Promise<CommitStats | undefined> {
  try {
    const text = await (await fetch(url, { signal: AbortSignal.timeout(5_000) })).text();
    const value = (name: string) => {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text);
      return m ? Number(m[1]) : NaN;
    };
    const count = value("switchyard_sync_commit_duration_seconds_count");
    return {
      commits: value("switchyard_sync_commits_total"),
      updates: value("switchyard_sync_updates_total"),
      meanMs: (value("switchyard_sync_commit_duration_seconds_sum") / count) * 1000,
    };
  } catch (err) {
    console.error(`  cannot read ${url}: ${(err as Error).message}`);
    return undefined;
  }
}

async function runInfo(plan: Plan, disk: { fs: string; device: string }): Promise<string[]> {
  const text = (cmd: string, args: string[]) =>
    new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output()
      .then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "?");
  const v = await syncPeerVersions();
  const cpu = /^model name\s*:\s*(.+)$/m.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "?";
  const gib = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1);
  const measured = plan.samples.toLocaleString("en-US");
  return [
    `Run on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC with \`${
      ["deno task bench:sync", ...Deno.args].join(" ")
    }\`.`,
    "",
    `- Machine: ${navigator.hardwareConcurrency} CPUs (${cpu}), ${gib} GiB, Linux ${Deno.osRelease()}; ` +
    `databases on ${disk.fs} (${disk.device || "?"})`,
    `- Versions: Deno ${Deno.version.deno}, Node ${await text("node", ["--version"])}, ` +
    `@y/websocket-server ${v["@y/websocket-server"]}, @hocuspocus/server ${
      v["@hocuspocus/server"]
    } ` +
    `(+ extension-sqlite ${v["@hocuspocus/extension-sqlite"]}, better-sqlite3 ${
      v["better-sqlite3"]
    }); clients y-websocket ${v["y-websocket"]} and @hocuspocus/provider ${
      v["@hocuspocus/provider"]
    } on yjs ${v.yjs} and ws ${v.ws}`,
    `- ${plan.docs} documents × 2 clients per server; ${measured} measured updates per server after ` +
    `${plan.warmupPerDoc * plan.docs} unmeasured ones, ${plan.perSec} updates/s spread over all ` +
    `documents, round-robin over the servers in ${plan.rounds} rounds`,
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      docs: { type: "string" },
      samples: { type: "string" },
      rate: { type: "string", default: "200" },
      servers: { type: "string", default: SYNC_SERVERS.join(",") },
      quick: { type: "boolean", default: false },
      "no-write": { type: "boolean", default: false },
    },
  });
  const quick = values.quick;
  const plan: Plan = {
    docs: Number(values.docs ?? (quick ? 50 : 200)),
    samples: Number(values.samples ?? (quick ? 500 : 4_000)),
    perSec: Number(values.rate),
    rounds: quick ? 2 : 5,
    warmupPerDoc: 4,
  };
  for (const [k, v] of Object.entries(plan)) {
    if (!Number.isInteger(v) || v < 1) {
      throw new Error(`Invalid --${k} ${v}: give a whole number ≥ 1`);
    }
  }
  const keys = values.servers.split(",").map((s) => s.trim()) as SyncServerKey[];
  for (const k of keys) {
    if (!SYNC_SERVERS.includes(k)) throw new Error(`Unknown server "${k}": use ${SYNC_SERVERS}`);
  }
  const started = Date.now();
  const disk = await tempDisk();
  const runs: Run[] = [];
  const servers: SyncServer[] = [];
  try {
    const busy = await waitForQuiet(0.5, 15_000);
    console.error(`${busy.toFixed(2)} cores busy before the start`);
    for (const key of keys) {
      // One unmeasured start first: the measured one is a warm start (module and file caches).
      const warm = await startSyncServer(key);
      await warm.child.stop();
      await warm.cleanup();
      const server = await startSyncServer(key);
      servers.push(server);
      await sleep(1_000);
      const rssEmptyKb = await medianRssKb(server.child.pid, 5, 200);
      console.error(
        `${key}: up in ${server.startupMs.toFixed(0)} ms, ${(rssEmptyKb / 1024).toFixed(1)} MB`,
      );
      const load = spawn("node", {
        args: [
          `${PEERS_DIR}sync_load.mjs`,
          JSON.stringify({
            client: server.client,
            url: server.url,
            docs: plan.docs,
            prefix: "bench-doc",
            batch: 20,
            timeoutMs: 20_000,
          }),
        ],
        cwd: PEERS_DIR,
        stdin: true,
        stdout: true,
      });
      const run: Run = {
        server,
        load,
        connectMs: 0,
        rssEmptyKb,
        rssIdleKb: 0,
        samples: [],
        missed: 0,
        disconnects: 0,
        cpuSeconds: 0,
        updates: 0,
        otherCpuSeconds: 0,
        wallSeconds: 0,
        diskBusyMs: 0,
      };
      runs.push(run);
      run.connectMs = (await nextEvent<SyncEvent>(load, "ready", 60_000)).connectMs as number;
      console.error(`${key}: ${plan.docs * 2} clients synced in ${run.connectMs.toFixed(0)} ms`);
    }
    await sleep(2_000);
    for (const run of runs) run.rssIdleKb = await medianRssKb(run.server.child.pid, 5, 200);
    for (const run of runs) {
      await slice(run, {
        all: runs,
        disk: disk.device,
        updates: plan.warmupPerDoc * plan.docs,
        perSec: plan.perSec,
        measure: false,
      });
    }
    for (let r = 0; r < plan.rounds; r++) {
      const count = Math.floor(plan.samples * (r + 1) / plan.rounds) -
        Math.floor(plan.samples * r / plan.rounds);
      console.error(
        `round ${r + 1}/${plan.rounds}: ${count} updates per server (${
          (await busyCores(500)).toFixed(2)
        } cores busy)`,
      );
      // The order turns each round, so no server always follows the same one.
      for (let i = 0; i < runs.length; i++) {
        const run = runs[(i + r) % runs.length];
        await sleep(200);
        await slice(run, {
          all: runs,
          disk: disk.device,
          updates: count,
          perSec: plan.perSec,
          measure: true,
        });
      }
    }
    await sleep(1_000);
    const results: SyncResult[] = [];
    for (const run of runs) {
      const rssAfterKb = await medianRssKb(run.server.child.pid, 5, 200);
      results.push({
        key: run.server.key,
        startupMs: run.server.startupMs,
        rssEmptyMb: run.rssEmptyKb / 1024,
        rssIdleMb: run.rssIdleKb / 1024,
        rssAfterMb: rssAfterKb / 1024,
        connectMs: run.connectMs,
        latency: stats(run.samples, run.missed),
        cpuPerUpdateUs: (run.cpuSeconds * 1e6) / Math.max(1, run.updates),
        backgroundCores: run.otherCpuSeconds / Math.max(1e-9, run.wallSeconds),
        diskBusy: run.diskBusyMs / Math.max(1e-9, run.wallSeconds * 1000),
        disconnects: run.disconnects,
      });
    }
    for (const [i, run] of runs.entries()) {
      if (run.server.metricsUrl) results[i].commits = await commitStats(run.server.metricsUrl);
    }
    const info = await runInfo(plan, disk);
    const tables = [resultsTable(results), ratioTable(results)];
    const verdicts = verdict(results);
    console.log(`\n${tables.join("\n\n")}\n\n${verdicts.join("\n")}`);
    console.log(`\n${Math.round((Date.now() - started) / 1000)} s in all`);
    if (quick || values["no-write"]) return;
    const block = [
      SYNC_BEGIN,
      "",
      ...info,
      "",
      ...tables.flatMap((t) => [t, ""]),
      ...verdicts,
      "",
      SYNC_END,
    ].join("\n");
    const path = `${REPO_ROOT}docs/benchmarks.md`;
    await Deno.writeTextFile(path, spliceSyncReport(await Deno.readTextFile(path), block));
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
    console.log(`Updated ${path}`);
  } finally {
    for (const run of runs) {
      await run.load.writeLine(JSON.stringify({ cmd: "quit" })).catch(() => {});
    }
    for (const run of runs) await run.load.stop();
    for (const server of servers) {
      await server.child.stop();
      await server.cleanup();
    }
  }
}

if (import.meta.main) {
  // Outside the watchdog: a first install compiles better-sqlite3 (a few minutes).
  await installPeers(NEEDS);
  await runBench(main, WATCHDOG_MS);
}
