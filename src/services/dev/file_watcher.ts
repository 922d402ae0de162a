/**
 * Watches a directory tree for the dev server and reports each change as a
 * {@linkcode ChangeEvent} with a path relative to the root.
 *
 * @module
 */
import { resolve, sep } from "node:path";
import type { ChangeEvent, ChangeKind } from "./change_batcher.ts";

/**
 * Stable codes of {@linkcode FileWatchError}:
 *
 * - `ERR_WATCH_LIMIT`: the OS limit on inotify watches or instances is reached.
 * - `ERR_WATCH_FAILED`: any other failure of the OS watcher.
 */
export type FileWatchErrorCode = "ERR_WATCH_LIMIT" | "ERR_WATCH_FAILED";

/** The message of `ERR_WATCH_LIMIT`; it names the fix. */
export const WATCH_LIMIT_MESSAGE = "File watching failed: the inotify watch limit is reached. " +
  "Raise it: echo fs.inotify.max_user_watches=524288 | sudo tee -a /etc/sysctl.conf && sudo sysctl -p";

/**
 * A failure of the OS file watcher.
 *
 * @example
 * ```ts
 * import { FileWatchError } from "./file_watcher.ts";
 * const error = new FileWatchError("ERR_WATCH_FAILED", "File watching failed: permission denied");
 * console.log(error.code); // "ERR_WATCH_FAILED"
 * ```
 */
export class FileWatchError extends Error {
  /** Stable code, e.g. `ERR_WATCH_LIMIT`. */
  readonly code: FileWatchErrorCode;

  /** Creates the error; `options.cause` keeps the underlying error. */
  constructor(code: FileWatchErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FileWatchError";
    this.code = code;
  }
}

/**
 * Turns an error of `Deno.watchFs` into a {@linkcode FileWatchError}. Deno reports the watch
 * limit as `OS file watch limit reached. about [...]` (ENOSPC) and the instance limit as
 * `Too many open files (os error 24)`.
 *
 * @example
 * ```ts
 * import { describeWatchError } from "./file_watcher.ts";
 * describeWatchError(new Error("OS file watch limit reached.")).code; // "ERR_WATCH_LIMIT"
 * ```
 */
export function describeWatchError(error: unknown): FileWatchError {
  const message = error instanceof Error ? error.message : String(error);
  if (
    /inotify|ENOSPC|no space left on device|too many open files|EMFILE|watch limit/i.test(message)
  ) {
    return new FileWatchError("ERR_WATCH_LIMIT", WATCH_LIMIT_MESSAGE, { cause: error });
  }
  return new FileWatchError("ERR_WATCH_FAILED", `File watching failed: ${message}`, {
    cause: error,
  });
}

/**
 * Compiles a glob into a matcher for relative forward-slash paths, with gitignore's rules:
 * a pattern without a slash (`*.log`, `dist`) matches any path segment, so it also ignores
 * everything below a matching directory; a pattern with a slash (`dist/**`, `src/gen/*.js`)
 * is anchored at the root and matches the path or any of its ancestors. `*` and `?` stay
 * within a segment, `**` crosses segments, and `**` followed by a slash also matches no
 * directory at all.
 *
 * Hand-written rather than `npm:picomatch` (which does run under Deno): these ~30 lines give
 * exactly the gitignore semantics above, and the dev server needs no new dependency.
 *
 * @example
 * ```ts
 * import { globMatcher } from "./file_watcher.ts";
 * const ignored = globMatcher(["*.log", "dist/**"]);
 * ignored("logs/today.log"); // true
 * ignored("dist/app.js"); // true
 * ignored("src/app.js"); // false
 * ```
 */
export function globMatcher(patterns: readonly string[]): (path: string) => boolean {
  const anySegment: RegExp[] = [];
  const anchored: RegExp[] = [];
  for (const raw of patterns) {
    const pattern = raw.trim().replace(/^\.?\//, "").replace(/\/+$/, "");
    if (pattern === "") continue;
    (pattern.includes("/") ? anchored : anySegment).push(globToRegExp(pattern));
  }
  return (path) => {
    const segments = path.split("/");
    if (anySegment.some((re) => segments.some((segment) => re.test(segment)))) return true;
    for (let end = 1; end <= segments.length; end++) {
      const prefix = segments.slice(0, end).join("/");
      if (anchored.some((re) => re.test(prefix))) return true;
    }
    return false;
  };
}

function globToRegExp(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i];
    if (char === "*" && glob[i + 1] === "*") {
      i++;
      if (glob[i + 1] === "/") {
        i++;
        source += "(?:.*/)?";
      } else {
        source += ".*";
      }
    } else if (char === "*") {
      source += "[^/]*";
    } else if (char === "?") {
      source += "[^/]";
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
  }
  return new RegExp(`^${source}$`);
}

/**
 * Whether a relative path is ignored whatever the options say: anything under a segment that
 * starts with a dot (`.git`, `.cache`, `.foo.swp`), anything under `node_modules`, and the
 * temporary files editors write during a save.
 */
export function isIgnoredByDefault(path: string): boolean {
  const segments = path.split("/");
  if (segments.some((segment) => segment.startsWith(".") || segment === "node_modules")) {
    return true;
  }
  return isEditorTempFile(segments[segments.length - 1]);
}

function isEditorTempFile(name: string): boolean {
  if (name.endsWith("~") || /\.(tmp|swp|swo|swx)$/i.test(name)) return true;
  // Emacs auto-save files and JetBrains "safe write" files.
  if (/^#.*#$/.test(name) || /___jb_(tmp|old)___$/.test(name)) return true;
  // Vim probes whether it may write a directory with a file named 4913, then 5036, 5159, …
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    return n >= 4913 && (n - 4913) % 123 === 0;
  }
  return false;
}

/** Options of {@linkcode FileWatcher}. */
export interface FileWatcherOptions {
  /** The directory to watch, recursively. */
  root: string;
  /** Globs of relative paths to ignore, on top of the defaults (see {@linkcode globMatcher}). */
  ignore?: readonly string[];
  /**
   * Called for each change of a path that is not ignored. After the watcher had to be re-created
   * (the root was deleted and re-created, or the OS watcher failed and recovered) it is called
   * once with `{ path: "", kind: "create" }`: anything may have changed. It should not throw:
   * a throw is reported as `ERR_WATCH_FAILED` and the watcher restarts at the next root check.
   */
  onChange(event: ChangeEvent): void;
  /** Called when the OS watcher fails; the same failure is reported once until it recovers. */
  onError(error: FileWatchError): void;
  /** How often to check that the root still exists and is the same directory. Default 500 ms. */
  rootCheckMs?: number;
  /** Replaces `Deno.watchFs`, for tests. */
  watchFs?: (path: string, options: { recursive: boolean }) => Deno.FsWatcher;
}

const KINDS: Partial<Record<Deno.FsEvent["kind"], ChangeKind>> = {
  create: "create",
  modify: "modify",
  remove: "remove",
  rename: "rename",
  any: "modify",
  other: "modify",
};

/**
 * Watches `root` recursively with `Deno.watchFs` and reports relative, forward-slash paths.
 *
 * A rename is reported as `remove` of the old name and `rename` of the new one, so an editor's
 * atomic save (write `.index.html.swp`, rename it to `index.html`) is reported as `index.html`
 * only. If the root vanishes, the watcher waits for it to come back, re-creates the OS watcher,
 * and reports the root as changed.
 *
 * @example
 * ```ts
 * import { FileWatcher } from "./file_watcher.ts";
 * const watcher = new FileWatcher({
 *   root: "./site",
 *   ignore: ["*.log", "dist/** How long a re-created watcher waits for the old one's loop to end. */
const LOOP_END_WAIT_MS = 1_000;

/** "],
 *   onChange: (event) => console.log(event.kind, event.path),
 *   onError: (error) => console.error(error.message),
 * });
 * await watcher.close();
 * ```
 */
export class FileWatcher {
  #root: string;
  #realRoot: string | undefined;
  #ignored: (path: string) => boolean;
  #onChange: (event: ChangeEvent) => void;
  #onError: (error: FileWatchError) => void;
  #watchFs: (path: string, options: { recursive: boolean }) => Deno.FsWatcher;
  #watcher: Deno.FsWatcher | undefined;
  /** Inode of the root the current watcher watches: a new inode means it was re-created. */
  #rootIno: number | null = null;
  /** Watcher loops and directory scans still running. */
  #loops = new Set<Promise<void>>();
  #interval: ReturnType<typeof setInterval>;
  #checking: Promise<void> | undefined;
  #forceCheck = false;
  #lastError: string | undefined;
  #closed = false;

  /** Starts watching at once; if `root` does not exist yet, waits for it to appear. */
  constructor(options: FileWatcherOptions) {
    this.#root = resolve(options.root);
    this.#ignored = globMatcher(options.ignore ?? []);
    this.#onChange = options.onChange;
    this.#onError = options.onError;
    this.#watchFs = options.watchFs ?? Deno.watchFs;
    this.#start(statRoot(this.#root), false);
    this.#interval = setInterval(() => this.#check(), options.rootCheckMs ?? 500);
  }

  /** Whether an OS watcher is running now (false while the root is missing or after a failure). */
  get watching(): boolean {
    return this.#watcher !== undefined;
  }

  /** Stops watching and releases the OS watcher and the timer. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#interval);
    this.#stop();
    await this.#checking;
    await Promise.all(this.#loops);
  }

  #start(stat: Deno.FileInfo | undefined, announce: boolean): void {
    if (!stat?.isDirectory) return;
    let watcher: Deno.FsWatcher;
    try {
      watcher = this.#watchFs(this.#root, { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) this.#fail(error);
      return;
    }
    this.#watcher = watcher;
    this.#rootIno = stat.ino;
    this.#lastError = undefined;
    try {
      this.#realRoot = Deno.realPathSync(this.#root);
    } catch {
      this.#realRoot = undefined;
    }
    this.#track(this.#run(watcher));
    if (announce) this.#onChange({ path: "", kind: "create", at: Date.now() });
  }

  #stop(): void {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    try {
      watcher?.close();
    } catch {
      // Already closed by Deno after an error.
    }
  }

  async #run(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const event of watcher) {
        if (this.#closed) break;
        this.#handle(event);
      }
    } catch (error) {
      if (this.#watcher === watcher && !this.#closed) this.#fail(error);
    }
    // The iterator also ends when Deno drops a watcher whose root is gone; the next check
    // re-creates it once the root is back.
    if (this.#watcher === watcher) this.#stop();
  }

  #fail(error: unknown): void {
    this.#stop();
    const described = describeWatchError(error);
    if (described.message === this.#lastError) return;
    this.#lastError = described.message;
    this.#onError(described);
  }

  /**
   * Re-create the watcher if the root changed. `force` (the root reported its own removal)
   * re-creates it even when the inode looks the same: a folder deleted and made again at
   * once may get the same inode number back.
   */
  #check(force = false): void {
    if (force) this.#forceCheck = true;
    if (this.#checking || this.#closed) return;
    this.#checking = (async () => {
      const forced = this.#forceCheck;
      this.#forceCheck = false;
      let stat: Deno.FileInfo | undefined;
      try {
        stat = await Deno.stat(this.#root);
      } catch {
        stat = undefined;
      }
      if (this.#closed) return;
      if (!forced && this.#watcher && stat?.isDirectory && stat.ino === this.#rootIno) return;
      this.#stop();
      // Deno tears a closed watcher down when its pending read ends; a new watcher on the same
      // path opened before that loses its events, so wait for the old loops to finish first —
      // but not forever: a closed watcher whose root was replaced may never end its read, and
      // then no watcher at all would lose every later save.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(this.#loops),
        new Promise((resolve) => timer = setTimeout(resolve, LOOP_END_WAIT_MS)),
      ]);
      clearTimeout(timer);
      if (this.#closed) return;
      this.#start(stat, true);
    })().finally(() => {
      this.#checking = undefined;
      if (this.#forceCheck && !this.#closed) this.#check();
    });
  }

  #handle(event: Deno.FsEvent): void {
    const kind = KINDS[event.kind];
    if (!kind) return;
    const at = Date.now();
    if (event.kind === "rename" && event.paths.length === 2) {
      this.#emit(event.paths[0], "remove", at);
      this.#emit(event.paths[1], "rename", at);
      return;
    }
    for (const path of event.paths) this.#emit(path, kind, at);
  }

  #emit(absolute: string, kind: ChangeKind, at: number): void {
    const path = this.#relative(absolute);
    if (path === undefined) return;
    if (path === "") {
      // The root itself: a removal means it is gone, so find out now rather than at the next tick.
      if (kind === "remove") this.#check(true);
      return;
    }
    if (isIgnoredByDefault(path) || this.#ignored(path)) return;
    this.#onChange({ path, kind, at });
    if (kind === "create" || kind === "rename") this.#track(this.#scanNewDirectory(absolute, path));
  }

  /**
   * The OS watch on a new directory is added only after its create event, so files written into
   * it right away (`mkdir -p out && write out/a.js`) raise no event of their own: report what it
   * already holds. A file seen both ways is reported twice; the batcher dedupes.
   */
  async #scanNewDirectory(absolute: string, path: string): Promise<void> {
    try {
      if (!(await Deno.stat(absolute)).isDirectory) return;
      for await (const entry of Deno.readDir(absolute)) {
        if (this.#closed) return;
        const child = `${path}/${entry.name}`;
        if (isIgnoredByDefault(child) || this.#ignored(child)) continue;
        this.#onChange({ path: child, kind: "create", at: Date.now() });
        if (entry.isDirectory) {
          await this.#scanNewDirectory(`${absolute}${sep}${entry.name}`, child);
        }
      }
    } catch {
      // Gone again already: its remove event is on its way.
    }
  }

  #track(task: Promise<void>): void {
    this.#loops.add(task);
    task.finally(() => this.#loops.delete(task));
  }

  #relative(absolute: string): string | undefined {
    for (const root of [this.#root, this.#realRoot]) {
      if (root === undefined) continue;
      if (absolute === root) return "";
      if (absolute.startsWith(root + sep)) {
        return absolute.slice(root.length + 1).replaceAll(sep, "/");
      }
    }
    return undefined;
  }
}

function statRoot(root: string): Deno.FileInfo | undefined {
  try {
    return Deno.statSync(root);
  } catch {
    return undefined;
  }
}
