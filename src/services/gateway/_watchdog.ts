/**
 * Makes a session's process group die with the server, even when the server is killed with
 * SIGKILL and gets no chance to stop it.
 *
 * The command is started through `/bin/sh` running {@linkcode WATCHDOG_SCRIPT}: the shell
 * forks a watcher that blocks reading a pipe whose only writer is the server, then `exec`s the
 * command, so the command keeps the shell's pid, stays the group leader and the server's
 * direct child (its exit status and the signals sent to it are exactly what they were without
 * the watchdog). When the server exits, however it exits, the kernel closes its end of the
 * pipe; the watcher reads EOF and kills the group: SIGTERM, up to
 * {@linkcode ORPHAN_GRACE_SECONDS} for the leader to go, then SIGKILL.
 *
 * Hand-written because nothing ready-made covers a group: Deno has no parent-death option,
 * and `PR_SET_PDEATHSIG` (`setpriv --pdeathsig`, `prctl`) reaches only the direct child, not
 * the grandchildren a dev server starts (`npx` → `node` → esbuild); it is also reset by
 * setuid execs. The script is POSIX `sh` (dash) and needs nothing but `kill`, `read` and
 * `sleep`.
 *
 * @module
 */

/** Seconds the watcher gives the group between SIGTERM and SIGKILL once the server is gone. */
export const ORPHAN_GRACE_SECONDS = 2;

/**
 * Run as `sh -c WATCHDOG_SCRIPT sh <grace seconds> <program> <args…>` in a new session (so
 * the group id is the shell's pid, `$$`, which is also `$$` in the watcher subshell), with
 * stdin a pipe the server holds open and never writes to.
 *
 * - The watcher keeps the pipe on fd 3; the command gets stdin from /dev/null and not fd 3.
 * - The watcher ignores SIGHUP, SIGINT and SIGTERM, so a stop's SIGTERM to the group or its
 *   own `kill -TERM` does not end it before the SIGKILL. Being started before the `exec`, it
 *   is a child of the command; while the server lives, the supervisor SIGKILLs the group as
 *   soon as the leader exits, which removes it too.
 * - It signals `-$$`, the group whose id is the leader's pid: should the script ever run
 *   outside a new session, that group does not exist and nothing is signalled (`kill 0`
 *   would hit the server's own group).
 * - While the grace lasts it checks once a second whether the leader is gone, so a command
 *   that quits on SIGTERM does not wait out the whole grace (`sleep` takes whole seconds in
 *   POSIX).
 */
export const WATCHDOG_SCRIPT = `grace=$1
shift
exec 3<&0 </dev/null
(
  trap '' HUP INT TERM
  while read -r _; do :; done <&3
  kill -s TERM -- "-$$" 2>/dev/null
  waited=0
  while [ "$waited" -lt "$grace" ] && kill -s 0 -- "$$" 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
  done
  kill -s KILL -- "-$$" 2>/dev/null
) &
exec "$@" 3<&-
`;

/** Options of {@linkcode watchedCommand}. */
export interface WatchedCommandOptions {
  /** Working directory of the command. */
  cwd?: string;
  /** The command's whole environment (the server's is cleared). */
  env: Record<string, string>;
  /** Default {@linkcode ORPHAN_GRACE_SECONDS}. */
  graceSeconds?: number;
}

/**
 * A `Deno.Command` that runs `command` under the watchdog in a new session, stdout and stderr
 * piped, stdin the watchdog's pipe. Keep `child.stdin` open for as long as the command may
 * run and close it once it exited; closing it earlier kills the group.
 *
 * @example
 * ```ts
 * import { watchedCommand } from "./_watchdog.ts";
 * const child = watchedCommand(["node", "server.js"], { env: { PATH: "/usr/bin" } }).spawn();
 * const status = await child.status;
 * await child.stdin.close();
 * ```
 */
export function watchedCommand(command: string[], options: WatchedCommandOptions): Deno.Command {
  const grace = options.graceSeconds ?? ORPHAN_GRACE_SECONDS;
  if (!Number.isInteger(grace) || grace < 0) throw new RangeError(`Bad grace: ${grace} s`);
  return new Deno.Command("/bin/sh", {
    args: ["-c", WATCHDOG_SCRIPT, "sh", String(grace), ...command],
    cwd: options.cwd,
    env: options.env,
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    detached: true,
  });
}

/** Where `sh` looks when PATH is unset (dash's default). */
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Options of {@linkcode resolveProgram}. */
export interface ResolveProgramOptions {
  /** The PATH the command will run with. */
  path?: string;
  /** The directory the command will run in; default the server's. */
  cwd?: string;
}

/**
 * Finds `program` the way `sh` will when it `exec`s it: a name with a slash relative to
 * `cwd`, any other name in each PATH entry (an empty entry is `cwd`). Returns the path found.
 * The shell itself always spawns, so this check is what keeps "not found" a spawn error:
 * throws `Deno.errors.NotFound` when there is no such file and
 * `Deno.errors.PermissionDenied` when the files found are not executable.
 *
 * @example
 * ```ts
 * import { resolveProgram } from "./_watchdog.ts";
 * resolveProgram("sh", { path: "/usr/bin:/bin" }); // "/usr/bin/sh"
 * ```
 */
export function resolveProgram(program: string, options: ResolveProgramOptions = {}): string {
  const cwd = options.cwd ?? Deno.cwd();
  const absolute = (path: string) => path.startsWith("/") ? path : `${cwd}/${path}`;
  const candidates = program.includes("/")
    ? [absolute(program)]
    : (options.path ?? DEFAULT_PATH).split(":").map((dir) => absolute(`${dir || "."}/${program}`));
  let denied: string | undefined;
  for (const candidate of candidates) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(candidate);
    } catch (error) {
      if (error instanceof Deno.errors.NotCapable) throw error; // no --allow-read: say so
      continue;
    }
    if (!info.isFile) continue;
    if (info.mode !== null && (info.mode & 0o111) === 0) {
      denied ??= candidate;
      continue;
    }
    return candidate;
  }
  if (denied !== undefined) {
    throw new Deno.errors.PermissionDenied(`Permission denied: "${denied}" is not executable`);
  }
  throw new Deno.errors.NotFound(`No such program: "${program}"`);
}
