/**
 * Fan-out benchmark: Switchyard against Socket.IO 4.8 (WebSocket transport
 * only) and a bare Deno WebSocket server, in one run on this machine.
 *
 *     deno task bench                          # 1,000 and 10,000 subscribers
 *     deno task bench --subscribers 1000,5000  # other counts
 *     deno task bench --quick                  # 1,000 subscribers, short phases, no docs update
 *     deno task bench --servers switchyard,socketio --no-write
 *
 * Servers run one at a time; one Node process (bench/peers/load.mjs, `ws`)
 * loads each of them. Every process started is stopped by PID. A full run
 * updates the generated block of docs/benchmarks.md.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { installPeers, NOFILE, PEERS_DIR, runBench } from "./_processes.ts";
import { waitForQuiet } from "./_machine.ts";
import { reportBlock, resultsTable, type RunInfo, spliceReport, verdict } from "./_report.ts";
import { type Plan, runScenario, type ScenarioResult } from "./_scenario.ts";
import { REPO_ROOT, SERVERS } from "./_servers.ts";

/** The whole run is stopped past this. */
const RUN_DEADLINE_MS = 12 * 60_000;
/** Deliveries per second offered by the fixed-pace phase, whatever the subscriber count. */
const OFFERED_PER_SEC = 10_000;

/** Phases sized for `n` subscribers. */
export function planFor(n: number, quick: boolean): Plan {
  const messages = quick ? 40 : n <= 2_000 ? 200 : 50;
  return {
    subscribers: n,
    batch: 200,
    paced: { messages, intervalMs: Math.max(10, Math.round((n / OFFERED_PER_SEC) * 1000)) },
    burst: { messages },
    settleMs: quick ? 1_000 : 3_000,
    timeoutMs: 30_000,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      subscribers: { type: "string" },
      servers: { type: "string", default: SERVERS.map((s) => s.key).join(",") },
      quick: { type: "boolean", default: false },
      "no-write": { type: "boolean", default: false },
    },
  });
  const quick = values.quick;
  const counts = (values.subscribers ?? (quick ? "1000" : "1000,10000")).split(",").map(Number);
  if (counts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`Invalid --subscribers ${values.subscribers}: give counts like 1000,10000`);
  }
  const wanted = values.servers.split(",");
  const servers = SERVERS.filter((s) => wanted.includes(s.key));
  if (servers.length !== wanted.length) {
    throw new Error(
      `Invalid --servers ${values.servers}: choose from ${SERVERS.map((s) => s.key)}`,
    );
  }

  await installPeers(["socket.io", "ws"]);
  const cwd = await Deno.makeTempDir({ prefix: "switchyard-bench-" });
  const results: ScenarioResult[] = [];
  const started = Date.now();
  try {
    for (const n of counts) {
      const plan = planFor(n, quick);
      for (const spec of servers) {
        console.error(`${spec.label}: ${n} subscribers…`);
        await waitForQuiet();
        const r = await runScenario(spec, plan, cwd);
        console.error(`  ${JSON.stringify(r)}`);
        results.push(r);
      }
    }
  } finally {
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
  }

  const info = await runInfo(counts.map((n) => planFor(n, quick)));
  console.log(`\n${resultsTable(results)}\n\n${verdict(results).join("\n")}`);
  console.log(`\n${Math.round((Date.now() - started) / 1000)} s in all`);
  if (quick || values["no-write"]) return;
  const path = `${REPO_ROOT}docs/benchmarks.md`;
  const doc = await Deno.readTextFile(path).catch(() => "# Benchmarks\n");
  await Deno.writeTextFile(path, spliceReport(doc, reportBlock(info, results)));
  await new Deno.Command(Deno.execPath(), { args: ["fmt", "--quiet", path] }).output();
  console.log(`Updated ${path}`);
}

async function runInfo(plans: Plan[]): Promise<RunInfo> {
  const text = (cmd: string, args: string[]) =>
    new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output()
      .then((o) => new TextDecoder().decode(o.stdout).trim()).catch(() => "?");
  const pkg = async (name: string) =>
    JSON.parse(await Deno.readTextFile(`${PEERS_DIR}node_modules/${name}/package.json`)).version;
  const cpu = /^model name\s*:\s*(.+)$/m.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1] ?? "?";
  const gib = (Deno.systemMemoryInfo().total / 2 ** 30).toFixed(1);
  return {
    date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
    command: ["deno task bench", ...Deno.args].join(" "),
    machine:
      `${navigator.hardwareConcurrency} CPUs (${cpu}), ${gib} GiB, Linux ${Deno.osRelease()}`,
    versions: `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), Node ${await text("node", [
      "--version",
    ])}, socket.io ${await pkg("socket.io")} (engine.io ${await pkg("engine.io")}), ws ${await pkg(
      "ws",
    )} (load generator)`,
    method: `latency at a fixed pace of ${OFFERED_PER_SEC.toLocaleString("en-US")} deliveries/s (` +
      plans.map((p) =>
        `${p.paced.messages} publishes ${p.paced.intervalMs} ms apart to ${
          p.subscribers.toLocaleString("en-US")
        } subscribers`
      ).join(", ") + `); throughput from an ack-paced burst of as many publishes; ` +
      `open-file limit ${NOFILE} for every process`,
  };
}

if (import.meta.main) await runBench(main, RUN_DEADLINE_MS);
