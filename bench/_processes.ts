/**
 * Child processes of the benchmark: started with a raised open-file limit,
 * watched by PID and stopped by PID (never by name).
 *
 * @module
 */

/** Open-file limit asked for every child; falls back to the hard limit when it is lower. */
export const NOFILE = 65_536;

/** A child process started by {@linkcode spawn}. */
export interface Child {
  readonly pid: number;
  readonly process: Deno.ChildProcess;
  /** Lines of stdout, as they come (when `stdout` was piped). */
  readonly lines: AsyncIterableIterator<string>;
  /** Write one line to stdin (when `stdin` was piped). */
  writeLine(line: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Child>();

/** Options of {@linkcode spawn}. */
export interface SpawnOptions {
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
  stdin?: boolean;
  /** Pipe stdout to `lines`; otherwise it is discarded. */
  stdout?: boolean;
}

/**
 * Start `command` through `bash -c 'ulimit -n …; exec "$@"'`: `exec` keeps the
 * PID, so the PID is the program's own and `/proc/<pid>/status` is its memory.
 */
export function spawn(command: string, options: SpawnOptions): Child {
  const script = `ulimit -n ${NOFILE} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`;
  const process = new Deno.Command("bash", {
    args: ["-c", script, "bench", command, ...options.args],
    env: options.env,
    cwd: options.cwd,
    stdin: options.stdin ? "piped" : "null",
    stdout: options.stdout ? "piped" : "null",
    stderr: "inherit",
  }).spawn();
  const writer = options.stdin ? process.stdin.getWriter() : undefined;
  const lines = options.stdout
    ? process.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter()).values()
    : (async function* () {})();
  let exited = false;
  const status = process.status.finally(() => (exited = true));
  const child: Child = {
    pid: process.pid,
    process,
    lines,
    async writeLine(line) {
      await writer?.write(new TextEncoder().encode(line + "\n"));
    },
    async stop(graceMs = 3_000) {
      running.delete(child);
      if (!exited) signal(process, "SIGTERM");
      const timer = setTimeout(() => exited || signal(process, "SIGKILL"), graceMs);
      await status.catch(() => {});
      clearTimeout(timer);
      await writer?.close().catch(() => {});
      if (options.stdout) await lines.return?.();
    },
  };
  running.add(child);
  return child;
}

function signal(process: Deno.ChildProcess, sig: Deno.Signal): void {
  try {
    process.kill(sig);
  } catch {
    // Already gone.
  }
}

/** Stop every child still running (on error or Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => c.stop(1_000)));
}

function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, out) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) out.enqueue(p);
    },
    flush(out) {
      if (rest) out.enqueue(rest);
    },
  });
}

/** Resident set size of `pid` in KiB (`VmRSS` of `/proc/<pid>/status`). */
export function rssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`No VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Median of `samples` RSS readings of `pid`, `everyMs` apart. */
export async function medianRssKb(pid: number, samples = 5, everyMs = 400): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(everyMs);
    values.push(rssKb(pid));
  }
  values.sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Resolve once something accepts TCP connections on `port`; throw after `timeoutMs`. */
export async function waitForPort(port: number, child: Child, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (Date.now() > deadline) {
        throw new Error(`Nothing listens on port ${port} after ${timeoutMs} ms`);
      }
      const exited = await Promise.race([child.process.status, sleep(100)]);
      if (exited) throw new Error(`Server exited with code ${exited.code} before listening`);
    }
  }
}

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<undefined> {
  return new Promise((r) => setTimeout(() => r(undefined), ms));
}

/**
 * Run a benchmark's `main` as the entry point: stop every child it started on
 * a timeout, on Ctrl+C or on an error, and exit.
 */
export async function runBench(main: () => Promise<void>, deadlineMs: number): Promise<void> {
  const watchdog = setTimeout(async () => {
    console.error(`Stopping: the run took longer than ${deadlineMs / 60_000} minutes`);
    await stopAll();
    Deno.exit(1);
  }, deadlineMs);
  Deno.addSignalListener("SIGINT", async () => {
    await stopAll();
    Deno.exit(130);
  });
  try {
    await main();
  } catch (err) {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    await stopAll();
    Deno.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
  }
  Deno.exit();
}

/** bench/peers: the Node servers and load generator the benchmarks compare against. */
export const PEERS_DIR = new URL("./peers/", import.meta.url).pathname;

/** Run `npm ci` in bench/peers unless every package in `needs` is installed. */
export async function installPeers(needs: readonly string[]): Promise<void> {
  const installed = await Promise.all(
    needs.map((name) =>
      Deno.stat(`${PEERS_DIR}node_modules/${name}/package.json`).then(() => true, () => false)
    ),
  );
  if (installed.every(Boolean)) return;
  console.error("Installing bench/peers dependencies (npm ci)…");
  const npm = spawn("npm", { args: ["ci", "--no-audit", "--no-fund"], cwd: PEERS_DIR });
  const { code } = await npm.process.status;
  if (code !== 0) throw new Error(`npm ci in ${PEERS_DIR} failed with code ${code}`);
}

/**
 * The next JSON line of a load generator whose `event` is `want`; other lines are skipped.
 * Throws on an `{"event": "error"}` line, after `timeoutMs`, or when the process exits first.
 */
export async function nextEvent<T extends { event: string }>(
  child: Child,
  want: string,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), Math.max(0, deadline - Date.now()));
    });
    const next = await Promise.race([child.lines.next(), timeout]);
    clearTimeout(timer);
    if (!next) throw new Error(`Load generator: no "${want}" within ${timeoutMs} ms`);
    if (next.done) throw new Error(`Load generator exited before "${want}"`);
    let event: T & { message?: unknown };
    try {
      event = JSON.parse(next.value);
    } catch {
      continue;
    }
    if (event.event === "error") throw new Error(`Load generator: ${event.message}`);
    if (event.event === want) return event;
  }
}

const REPO = new URL("../", import.meta.url).pathname;

/**
 * Arguments of `deno` that run `switchyard serve` as `deno task cli` would (the same V8 flag:
 * see docs/operations.md, "Memory"), in plain HTTP on 127.0.0.1:`port`, quiet; `extra` last.
 */
export function switchyardServeArgs(port: number, extra: readonly string[] = []): string[] {
  return [
    "run",
    "-A",
    "--unstable-net",
    "--v8-flags=--max-semi-space-size=1",
    `--config=${REPO}deno.json`,
    `${REPO}src/cli/main.ts`,
    "serve",
    "--no-tls",
    "--host=127.0.0.1",
    `--port=${port}`,
    "--strict-port",
    "--log-level=warn",
    ...extra,
  ];
}
