/**
 * Supervises one session's dev-server process: starts it in its own process group, waits until
 * it answers on its port, keeps its recent output, restarts it with backoff after a crash and,
 * on stop, kills the whole group so no grandchild (esbuild, a worker) outlives it. A watchdog
 * in the group kills it when the server dies without stopping it (SIGKILL, a crash).
 *
 * @module
 */
import { assertSessionId } from "./_command_template.ts";
import { GatewayError } from "./_gateway_error.ts";
import { type LogLine, LogRing, pumpLines } from "./_log_lines.ts";
import { groupGone, livingGroupMembers, signalGroup } from "./_process_group.ts";
import { probe, type Readiness } from "./_readiness.ts";
import { DEFAULT_RESTART, RestartBudget, type RestartPolicy } from "./_restart_budget.ts";
import { describeSpawnError } from "./_spawn_error.ts";
import { resolveProgram, watchedCommand } from "./_watchdog.ts";

export { expandTemplate, type TemplateVars } from "./_command_template.ts";
export { GatewayError, type GatewayErrorCode, SESSION_ID_PATTERN } from "./_gateway_error.ts";
export type { LogLine } from "./_log_lines.ts";
export type { Readiness } from "./_readiness.ts";
export type { RestartPolicy } from "./_restart_budget.ts";
export { livingGroupMembers };

/**
 * Lifecycle of a session's process:
 *
 * - `starting`: spawned, readiness check not yet passed.
 * - `ready`: the readiness check passed.
 * - `crashed`: it exited unexpectedly or never became ready; a restart is scheduled
 *   (`restartInMs` in the state detail) or, when `error` has no restart, it gave up.
 * - `stopped`: not running, by request (or never started).
 */
export type SessionState = "starting" | "ready" | "crashed" | "stopped";

/** What accompanies a state change. */
export interface StateDetail {
  /** Why it crashed. */
  error?: GatewayError;
  /** Delay until the scheduled restart; absent when it gave up. */
  restartInMs?: number;
}

/** Variables the process inherits from the server; everything else must be given in `env`. */
export const INHERITED_ENV: readonly string[] = ["PATH", "HOME", "LANG"];

/** Options of {@linkcode SessionProcess}. */
export interface SessionProcessOptions {
  /** Session id; must match {@linkcode SESSION_ID_PATTERN}. */
  id: string;
  /** Program and arguments, already expanded with {@linkcode expandTemplate}. */
  command: string[];
  /** Loopback port the process must listen on, already chosen by the caller. */
  port: number;
  /** Working directory; default the server's. */
  cwd?: string;
  /**
   * Environment, set over {@linkcode INHERITED_ENV}. The server's other variables are NOT
   * passed: they may hold secrets (JWT keys, Redis passwords) a user's dev server must not see.
   */
  env?: Record<string, string>;
  /** Default `{ type: "tcp" }`. */
  readiness?: Readiness;
  /** Default 30 000. After it the process group is killed. */
  readyTimeoutMs?: number;
  /** Default 5 restarts in 60 s, backoff 500 ms to 30 s. */
  restart?: RestartPolicy;
  /** Lines kept for {@linkcode SessionProcess.logs}; default 500. */
  logLines?: number;
  /** Pause between readiness probes; default 100 ms. */
  pollIntervalMs?: number;
  /** Clock for log times and the restart window; default `Date.now`. */
  now?: () => number;
  /** Source of backoff jitter in [0, 1); default `Math.random`. */
  random?: () => number;
}

/** Options of {@linkcode SessionProcess.stop}. */
export interface StopOptions {
  /** Time between SIGTERM and SIGKILL to the group; default 5000 ms. */
  graceMs?: number;
}

interface Run {
  /** Its stdin is the watchdog's pipe: open while it runs, closed once it exited. */
  child: Deno.ChildProcess;
  pid: number;
  isRestart: boolean;
  ready: boolean;
  exited: boolean;
  /** Set when we stop or replace it, so its exit is not a crash. */
  halting: boolean;
  /** Set when we killed it because the readiness check did not pass in time. */
  timedOut: boolean;
  /** Resolves once it exited, its group was killed, its output drained and probing ended. */
  done: Promise<void>;
  /** Ends the readiness loop's pause between probes early. */
  wake?: () => void;
}

const TAIL_LINES = 20;
const DRAIN_LIMIT_MS = 1000;
/** How long the group's last processes get to die of the SIGKILL before the exit is reported. */
const GROUP_EXIT_LIMIT_MS = 2000;

/**
 * One session's dev-server process. The child runs in a new session (`detached`), so its
 * process group id is its pid and stop, timeout and crash all signal the whole group. It is
 * started through a small `sh` watchdog (`_watchdog.ts`) that `exec`s it and leaves one
 * watcher process in the group: when the server's end of the watcher's stdin pipe closes,
 * because the server exited in any way, the watcher kills the group (SIGTERM, SIGKILL at most
 * 2 s later).
 * Failures of the first start (not found, exit before ready, readiness timeout) are final
 * and reported by {@linkcode SessionProcess.ready}; after the process was ready once, exits
 * are crashes and restarted per the {@linkcode RestartPolicy}. Listeners must not throw.
 *
 * @example
 * ```ts
 * import { expandTemplate, SessionProcess } from "./supervisor.ts";
 * const command = expandTemplate("npx vite --port {port} --base /session/{id}/ --strictPort", {
 *   id: "a", port: 4100, dir: "/srv/a",
 * });
 * const session = new SessionProcess({ id: "a", command, port: 4100, cwd: "/srv/a" });
 * session.onState((state) => console.log(state));
 * await session.start();
 * await session.ready();
 * await session.stop();
 * ```
 */
export class SessionProcess {
  /** Session id. */
  readonly id: string;
  /** Port the process listens on. */
  readonly port: number;
  readonly #options: SessionProcessOptions;
  readonly #budget: RestartBudget;
  readonly #now: () => number;
  readonly #logs: LogRing;
  readonly #stateListeners = new Set<(state: SessionState, detail: StateDetail) => void>();
  readonly #logListeners = new Set<(line: LogLine) => void>();
  #waiters: { resolve(): void; reject(error: GatewayError): void }[] = [];
  #state: SessionState = "stopped";
  #error: GatewayError | undefined;
  #run: Run | undefined;
  #restartTimer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  #queue: Promise<unknown> = Promise.resolve();

  /** Validates the options; spawns nothing until {@linkcode SessionProcess.start}. */
  constructor(options: SessionProcessOptions) {
    assertSessionId(options.id);
    if (options.command.length === 0 || options.command[0] === "") {
      throw new GatewayError("ERR_BAD_TEMPLATE", "Empty command: name a program to run");
    }
    this.id = options.id;
    this.port = options.port;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#budget = new RestartBudget(
      options.restart ?? DEFAULT_RESTART,
      this.#now,
      options.random ?? Math.random,
    );
    this.#logs = new LogRing(options.logLines ?? 500);
  }

  /** Current state. */
  get state(): SessionState {
    return this.#state;
  }

  /** Pid (and process group id) of the running process, if any. */
  get pid(): number | undefined {
    return this.#run?.exited ? undefined : this.#run?.pid;
  }

  /** Why it last failed; cleared by a successful start. */
  get error(): GatewayError | undefined {
    return this.#error;
  }

  /** Calls `fn` on every state change; returns a function that removes it. */
  onState(fn: (state: SessionState, detail: StateDetail) => void): () => void {
    this.#stateListeners.add(fn);
    return () => this.#stateListeners.delete(fn);
  }

  /** Calls `fn` for every line of output; returns a function that removes it. */
  onLog(fn: (line: LogLine) => void): () => void {
    this.#logListeners.add(fn);
    return () => this.#logListeners.delete(fn);
  }

  /** The most recent lines of output (stdout and stderr interleaved), oldest first. */
  logs(): LogLine[] {
    return this.#logs.toArray();
  }

  /**
   * Resolves when the process is ready. While a crash restart is pending it keeps waiting;
   * it rejects when the process fails for good (with the {@linkcode GatewayError} of that
   * failure: `ERR_EXITED_BEFORE_READY` with the last log lines, `ERR_READY_TIMEOUT`,
   * `ERR_COMMAND_NOT_FOUND`, `ERR_CRASH_LOOP`) or is stopped (`ERR_STOPPED`).
   */
  ready(): Promise<void> {
    if (this.#state === "ready") return Promise.resolve();
    if (this.#state === "stopped") {
      return Promise.reject(
        this.#started
          ? new GatewayError("ERR_STOPPED", `Session "${this.id}" is stopped: start it first`)
          : new GatewayError("ERR_NOT_STARTED", `Session "${this.id}" was never started`),
      );
    }
    if (this.#run === undefined && this.#restartTimer === undefined) {
      return Promise.reject(this.#error);
    }
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * Spawns the process unless it runs already; resolves once it is spawned (await
   * {@linkcode SessionProcess.ready} for readiness). Rejects when it cannot be spawned.
   */
  start(): Promise<void> {
    return this.#serial(() => {
      if (this.#run || this.#restartTimer !== undefined) return;
      this.#budget.reset();
      this.#spawn(false);
      if (!this.#run) throw this.#error;
    });
  }

  /**
   * Sends SIGTERM to the process group, SIGKILL after `graceMs`, and resolves once the process
   * exited and its group was killed. Cancels a pending restart; pending `ready()` calls reject.
   */
  stop(options: StopOptions = {}): Promise<void> {
    return this.#serial(async () => {
      await this.#halt(options.graceMs ?? 5000);
      this.#setState("stopped", {});
      this.#settleWaiters(
        new GatewayError("ERR_STOPPED", `Session "${this.id}" was stopped before it was ready`),
      );
    });
  }

  /**
   * Stops the process like {@linkcode SessionProcess.stop} and starts it again; the state goes
   * straight to `starting` and pending `ready()` calls wait for the new process.
   */
  restart(options: StopOptions = {}): Promise<void> {
    return this.#serial(async () => {
      await this.#halt(options.graceMs ?? 5000);
      this.#budget.reset();
      this.#spawn(false);
      if (!this.#run) throw this.#error;
    });
  }

  #serial(op: () => void | Promise<void>): Promise<void> {
    const result = this.#queue.then(op);
    this.#queue = result.catch(() => {});
    return result;
  }

  async #halt(graceMs: number): Promise<void> {
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    const run = this.#run;
    if (!run) return;
    run.halting = true;
    run.wake?.();
    if (!run.exited) {
      signalGroup(run.pid, "SIGTERM");
      const killer = setTimeout(() => signalGroup(run.pid, "SIGKILL"), graceMs);
      await run.done.finally(() => clearTimeout(killer));
    } else {
      await run.done;
    }
    if (this.#run === run) this.#run = undefined;
  }

  #spawn(isRestart: boolean): void {
    const { command, cwd } = this.#options;
    const program = command[0];
    const env = this.#environment();
    let child: Deno.ChildProcess;
    try {
      // The shell always spawns; finding the program first keeps "not found" a spawn error.
      resolveProgram(program, { path: env.PATH, cwd });
      child = watchedCommand(command, { cwd, env }).spawn();
    } catch (cause) {
      this.#started = true;
      this.#fail(
        describeSpawnError({ id: this.id, program, cwd, path: env.PATH }, cause),
        isRestart,
      );
      return;
    }
    this.#started = true;
    this.#error = undefined;
    const run: Run = {
      child,
      pid: child.pid,
      isRestart,
      ready: false,
      exited: false,
      halting: false,
      timedOut: false,
      done: Promise.resolve(),
    };
    const drained = Promise.all([
      pumpLines(child.stdout, (text) => this.#log("stdout", text)),
      pumpLines(child.stderr, (text) => this.#log("stderr", text)),
    ]);
    this.#run = run;
    this.#setState("starting", {});
    const probing = this.#waitUntilReady(run);
    run.done = child.status.then(async (status) => {
      run.exited = true;
      run.wake?.();
      // The leader is gone; anything left in its group would be an orphan holding the port.
      signalGroup(run.pid, "SIGKILL");
      const left = await groupGone(run.pid, GROUP_EXIT_LIMIT_MS);
      if (left.length > 0) this.#log("stderr", `[switchyard] still running after SIGKILL: ${left}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([drained, new Promise((r) => timer = setTimeout(r, DRAIN_LIMIT_MS))]);
      clearTimeout(timer);
      // Only now: the group is dead, so closing the watchdog's pipe cannot set it off.
      await child.stdin.close().catch(() => {});
      await probing;
      this.#exited(run, status);
    });
  }

  async #waitUntilReady(run: Run): Promise<void> {
    const timeoutMs = this.#options.readyTimeoutMs ?? 30_000;
    const interval = this.#options.pollIntervalMs ?? 100;
    const readiness = this.#options.readiness ?? { type: "tcp" };
    const deadline = performance.now() + timeoutMs;
    while (!run.exited && !run.halting) {
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        run.timedOut = true;
        signalGroup(run.pid, "SIGKILL");
        return;
      }
      if (await probe(this.port, readiness, Math.min(remaining, 2000))) {
        if (run.exited || run.halting) return;
        run.ready = true;
        this.#setState("ready", {});
        for (const waiter of this.#waiters.splice(0)) waiter.resolve();
        return;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(interval, remaining));
        run.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      run.wake = undefined;
    }
  }

  #exited(run: Run, status: Deno.CommandStatus): void {
    if (run.halting || this.#run !== run) return;
    this.#run = undefined;
    const how = status.signal
      ? `was killed by ${status.signal}`
      : `exited with code ${status.code}`;
    let error: GatewayError;
    if (run.timedOut) {
      const { readyTimeoutMs = 30_000, readiness = { type: "tcp" } } = this.#options;
      error = new GatewayError(
        "ERR_READY_TIMEOUT",
        `Session "${this.id}" was not ready within ${readyTimeoutMs} ms: nothing passed the ` +
          `${readiness.type} check on 127.0.0.1:${this.port}, so its process group was killed. ` +
          "Check that the command listens on that port ({port} in the command template) or " +
          `raise the readiness timeout${this.#tail()}`,
      );
    } else if (run.ready) {
      error = new GatewayError("ERR_EXITED", `Session "${this.id}" ${how}${this.#tail()}`);
    } else {
      error = new GatewayError(
        "ERR_EXITED_BEFORE_READY",
        `Session "${this.id}" ${how} before it was ready${this.#tail()}`,
      );
    }
    this.#fail(error, run.isRestart || run.ready);
  }

  /** Records a failure; restarts per the policy when `restartable`, else gives up. */
  #fail(error: GatewayError, restartable: boolean): void {
    this.#error = error;
    const delay = restartable ? this.#budget.take() : undefined;
    if (restartable && delay === undefined) {
      const { maxRestarts, windowMs } = this.#budget.policy;
      this.#error = new GatewayError(
        "ERR_CRASH_LOOP",
        `Session "${this.id}" crashed ${maxRestarts + 1} times within ${windowMs} ms: ` +
          `gave up restarting. Last failure: ${error.message}`,
        { cause: error },
      );
    }
    if (delay === undefined) {
      this.#setState("crashed", { error: this.#error });
      this.#settleWaiters(this.#error);
      return;
    }
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#spawn(true);
    }, delay);
    this.#setState("crashed", { error, restartInMs: delay });
  }

  #environment(): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of INHERITED_ENV) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    return { ...env, ...this.#options.env };
  }

  #tail(): string {
    const lines = this.#logs.toArray().slice(-TAIL_LINES);
    if (lines.length === 0) return ". It printed nothing";
    return `. Its output ended with:\n${lines.map((l) => l.text).join("\n")}`;
  }

  #log(stream: LogLine["stream"], text: string): void {
    const line: LogLine = { stream, text, at: this.#now() };
    this.#logs.push(line);
    for (const fn of this.#logListeners) fn(line);
  }

  #setState(state: SessionState, detail: StateDetail): void {
    this.#state = state;
    for (const fn of this.#stateListeners) fn(state, detail);
  }

  #settleWaiters(error: GatewayError): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
  }
}
