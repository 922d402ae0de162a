import assert from "node:assert/strict";
import { dirname } from "node:path";
import type { ChangeEvent } from "./change_batcher.ts";
import {
  describeWatchError,
  FileWatcher,
  type FileWatcherOptions,
  FileWatchError,
  globMatcher,
  isIgnoredByDefault,
  WATCH_LIMIT_MESSAGE,
} from "./file_watcher.ts";

const DEADLINE_MS = 5000;

/** Records what a watcher reports and lets a test wait for a matching report, with a deadline. */
class Recorder {
  events: ChangeEvent[] = [];
  errors: FileWatchError[] = [];
  #waiters: { match: () => boolean; resolve: () => void }[] = [];

  onChange = (event: ChangeEvent) => {
    this.events.push(event);
    this.#wake();
  };

  onError = (error: FileWatchError) => {
    this.errors.push(error);
    this.#wake();
  };

  /**
   * Resolves once `match` holds, checked on every report and every 10 ms; meanwhile calls `poke`
   * (if given) every 100 ms.
   */
  async until(what: string, match: () => boolean, poke?: () => Promise<void>): Promise<void> {
    if (match()) return;
    const done = Promise.withResolvers<void>();
    const waiter = { match, resolve: done.resolve };
    this.#waiters.push(waiter);
    const deadline = setTimeout(
      () => done.reject(new Error(`Timed out waiting for ${what}: got ${this.#summary()}`)),
      DEADLINE_MS,
    );
    const poll = setInterval(() => match() && done.resolve(), 10);
    const poker = poke && setInterval(() => void poke(), 100);
    try {
      await poke?.();
      await done.promise;
    } finally {
      clearTimeout(deadline);
      clearInterval(poll);
      clearInterval(poker);
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
    }
  }

  untilPath(path: string): Promise<void> {
    return this.until(`an event for "${path}"`, () => this.events.some((e) => e.path === path));
  }

  paths(): string[] {
    return [...new Set(this.events.map((e) => e.path))];
  }

  #wake(): void {
    for (const waiter of this.#waiters) if (waiter.match()) waiter.resolve();
  }

  #summary(): string {
    return JSON.stringify({ events: this.events, errors: this.errors.map((e) => e.message) });
  }
}

async function withWatcher(
  test: (ctx: { root: string; recorder: Recorder; watcher: FileWatcher }) => Promise<void>,
  options: Partial<FileWatcherOptions> & { prepare?: (root: string) => Promise<void> } = {},
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "switchyard_watch_" });
  await options.prepare?.(root);
  const recorder = new Recorder();
  const watcher = new FileWatcher({
    root,
    onChange: recorder.onChange,
    onError: recorder.onError,
    ...options,
  });
  try {
    await test({ root, recorder, watcher });
  } finally {
    await watcher.close();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

Deno.test("FileWatcher reports a written file by its relative path", async () => {
  await withWatcher(async ({ root, recorder }) => {
    await Deno.mkdir(`${root}/pages`);
    await Deno.writeTextFile(`${root}/pages/index.html`, "<h1>hi</h1>");
    await recorder.untilPath("pages/index.html");
    const event = recorder.events.find((e) => e.path === "pages/index.html")!;
    assert.ok(event.kind === "create" || event.kind === "modify");
    assert.ok(Math.abs(event.at - Date.now()) < DEADLINE_MS);

    await Deno.writeTextFile(`${root}/pages/index.html`, "<h1>again</h1>");
    await recorder.until("a modify", () => recorder.events.some((e) => e.kind === "modify"));
    assert.deepEqual(recorder.paths(), ["pages", "pages/index.html"]);
    assert.deepEqual(recorder.errors, []);
  });
});

Deno.test("FileWatcher reports files written at once into a new directory tree", async () => {
  await withWatcher(async ({ root, recorder }) => {
    for (let round = 0; round < 5; round++) {
      await Deno.mkdir(`${root}/out${round}/js/.cache`, { recursive: true });
      await Deno.writeTextFile(`${root}/out${round}/index.html`, "");
      await Deno.writeTextFile(`${root}/out${round}/js/app.js`, "");
      await Deno.writeTextFile(`${root}/out${round}/js/.cache/x`, "");
    }
    const expected = [0, 1, 2, 3, 4].flatMap((round) => [
      `out${round}`,
      `out${round}/index.html`,
      `out${round}/js`,
      `out${round}/js/app.js`,
    ]);
    await recorder.until(
      "every new file",
      () => expected.every((p) => recorder.paths().includes(p)),
    );
    await Deno.writeTextFile(`${root}/done.txt`, "");
    await recorder.untilPath("done.txt");
    assert.deepEqual(recorder.paths().sort(), [...expected, "done.txt"].sort());
  });
});

Deno.test("FileWatcher reports an atomic save by the final name only", async () => {
  await withWatcher(async ({ root, recorder }) => {
    await Deno.writeTextFile(`${root}/style.css`, "a{}");
    await Deno.writeTextFile(`${root}/ready.txt`, "");
    await recorder.untilPath("ready.txt");
    recorder.events = [];

    // Vim, Emacs-style backups, JetBrains and generic temp files, each renamed over the target.
    for (const temp of [".style.css.swp", "style.css~", "4913", "style.css.tmp", "#style.css#"]) {
      await Deno.writeTextFile(`${root}/${temp}`, "b{}");
      await Deno.rename(`${root}/${temp}`, `${root}/style.css`);
    }
    await recorder.until(
      "the renames",
      () =>
        recorder.events.filter((e) => e.path === "style.css" && e.kind === "rename").length >= 5,
    );
    await Deno.writeTextFile(`${root}/done.txt`, "");
    await recorder.untilPath("done.txt");
    assert.deepEqual(recorder.paths(), ["style.css", "done.txt"]);
    assert.ok(recorder.events.every((e) => e.path !== "style.css" || e.kind === "rename"));
  });
});

Deno.test("FileWatcher reports a rename as remove of the old name and rename to the new", async () => {
  await withWatcher(async ({ root, recorder }) => {
    await Deno.writeTextFile(`${root}/old.js`, "");
    await Deno.writeTextFile(`${root}/ready.txt`, "");
    await recorder.untilPath("ready.txt");
    recorder.events = [];
    await Deno.rename(`${root}/old.js`, `${root}/new.js`);
    await recorder.until(
      "both names",
      () =>
        recorder.events.some((e) => e.path === "old.js" && e.kind === "remove") &&
        recorder.events.some((e) => e.path === "new.js" && e.kind === "rename"),
    );
    await Deno.remove(`${root}/new.js`);
    await recorder.until(
      "the removal",
      () => recorder.events.some((e) => e.path === "new.js" && e.kind === "remove"),
    );
  });
});

Deno.test("FileWatcher ignores dot paths, node_modules and the ignore globs", async () => {
  await withWatcher(
    async ({ root, recorder }) => {
      for (
        const path of [
          ".git/HEAD",
          "node_modules/pkg/index.js",
          ".hidden",
          "sub/.env",
          "server.log",
          "sub/deep/debug.log",
          "dist/app.js",
          "dist/assets/app.css",
        ]
      ) {
        await Deno.writeTextFile(`${root}/${path}`, "x");
      }
      await Deno.writeTextFile(`${root}/sub/watched.txt`, "x");
      await recorder.untilPath("sub/watched.txt");
      assert.deepEqual(recorder.paths(), ["sub/watched.txt"]);
    },
    {
      ignore: ["*.log", "dist/**"],
      prepare: async (root) => {
        for (const dir of [".git", "node_modules/pkg", "sub/deep", "dist/assets"]) {
          await Deno.mkdir(`${root}/${dir}`, { recursive: true });
        }
      },
    },
  );
});

Deno.test("FileWatcher resumes after the root is deleted and re-created", async () => {
  await withWatcher(async ({ root, recorder, watcher }) => {
    await Deno.writeTextFile(`${root}/before.txt`, "");
    await recorder.untilPath("before.txt");

    await Deno.remove(root, { recursive: true });
    await recorder.until("the watcher to stop", () => !watcher.watching);
    await Deno.mkdir(root);
    // Write until an event arrives: the watcher comes back at its next root check.
    await recorder.until(
      "events after re-creation",
      () => recorder.events.some((e) => e.path === "after.txt"),
      () => Deno.writeTextFile(`${root}/after.txt`, String(Date.now())),
    );
    const reload = recorder.events.findIndex((e) => e.path === "" && e.kind === "create");
    assert.ok(reload >= 0);
    assert.ok(reload < recorder.events.findIndex((e) => e.path === "after.txt"));
    assert.deepEqual(recorder.errors, []);
  }, { rootCheckMs: 50 });
});

Deno.test("FileWatcher notices a root replaced between two checks", async () => {
  await withWatcher(async ({ root, recorder }) => {
    await Deno.writeTextFile(`${root}/before.txt`, "");
    await recorder.untilPath("before.txt");
    // Rename a new directory over the emptied root in one step, as `git checkout` or a build
    // tool might: the old watcher watches an inode that no longer has a name.
    const other = await Deno.makeTempDir({ dir: dirname(root), prefix: "switchyard_swap_" });
    await Deno.remove(`${root}/before.txt`);
    await Deno.rename(other, root);
    await recorder.until(
      "events in the new directory",
      () => recorder.events.some((e) => e.path === "after.txt"),
      () => Deno.writeTextFile(`${root}/after.txt`, String(Date.now())),
    );
    assert.ok(recorder.events.some((e) => e.path === ""));
  }, { rootCheckMs: 50 });
});

Deno.test("FileWatcher waits for a root that does not exist yet", async () => {
  const parent = await Deno.makeTempDir({ prefix: "switchyard_watch_" });
  const root = `${parent}/site`;
  const recorder = new Recorder();
  const watcher = new FileWatcher({
    root,
    rootCheckMs: 50,
    onChange: recorder.onChange,
    onError: recorder.onError,
  });
  try {
    assert.equal(watcher.watching, false);
    await Deno.mkdir(root);
    await recorder.until(
      "events once the root exists",
      () => recorder.events.some((e) => e.path === "a.html"),
      () => Deno.writeTextFile(`${root}/a.html`, String(Date.now())),
    );
    assert.deepEqual(recorder.errors, []);
  } finally {
    await watcher.close();
    await Deno.remove(parent, { recursive: true });
  }
});

Deno.test("FileWatcher.close() releases the OS watcher and its timer", async () => {
  const root = await Deno.makeTempDir({ prefix: "switchyard_watch_" });
  const recorder = new Recorder();
  const watcher = new FileWatcher({ root, onChange: recorder.onChange, onError: recorder.onError });
  assert.equal(watcher.watching, true);
  await watcher.close();
  assert.equal(watcher.watching, false);
  await watcher.close();
  // The test's resource and op sanitizers fail if the FsWatcher or the interval is still open.
  await Deno.remove(root, { recursive: true });
});

Deno.test("FileWatcher reports a watch limit once, then recovers", async () => {
  let calls = 0;
  const watchFs = (path: string, options: { recursive: boolean }): Deno.FsWatcher => {
    calls++;
    if (calls <= 3) throw new Error(`OS file watch limit reached. about ["${path}/d${calls}"]`);
    return Deno.watchFs(path, options);
  };
  await withWatcher(async ({ root, recorder }) => {
    await recorder.until(
      "events after recovery",
      () => recorder.events.some((e) => e.path === "a.txt"),
      () => Deno.writeTextFile(`${root}/a.txt`, String(Date.now())),
    );
    assert.equal(recorder.errors.length, 1);
    assert.equal(recorder.errors[0].code, "ERR_WATCH_LIMIT");
    assert.equal(recorder.errors[0].message, WATCH_LIMIT_MESSAGE);
    assert.ok(recorder.events.some((e) => e.path === "" && e.kind === "create"));
  }, { watchFs, rootCheckMs: 20 });
});

Deno.test("FileWatcher reports a failing watcher iterator through onError", async () => {
  const watchFs = (): Deno.FsWatcher => ({
    [Symbol.dispose]() {},
    close() {},
    // deno-lint-ignore require-yield
    async *[Symbol.asyncIterator]() {
      await Promise.resolve();
      throw new Error("Too many open files (os error 24)");
    },
  } as unknown as Deno.FsWatcher);
  await withWatcher(async ({ recorder }) => {
    await recorder.until("an error", () => recorder.errors.length > 0);
    assert.equal(recorder.errors[0].code, "ERR_WATCH_LIMIT");
  }, { watchFs });
});

const canUnshare = (() => {
  try {
    return new Deno.Command("unshare", { args: ["-Ur", "true"] }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "FileWatcher names the fix when the real inotify limit is reached",
  ignore: !canUnshare,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "switchyard_watch_" });
    for (const dir of ["a", "b", "c", "d"]) await Deno.mkdir(`${root}/${dir}`);
    const module = new URL("./file_watcher.ts", import.meta.url).href;
    const script = `
      const { FileWatcher } = await import(${JSON.stringify(module)});
      const watcher = new FileWatcher({
        root: ${JSON.stringify(root)},
        onChange() {},
        onError(error) { console.log(JSON.stringify({ code: error.code, message: error.message })); },
      });
      await watcher.close();`;
    // A user namespace has its own inotify limits (Linux 5.11+), so this lowers none of the host's.
    const output = await new Deno.Command("unshare", {
      args: [
        "-Ur",
        "sh",
        "-c",
        `echo 2 > /proc/sys/user/max_inotify_watches && exec "$0" eval "$1"`,
        Deno.execPath(),
        script,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    await Deno.remove(root, { recursive: true });
    const stdout = new TextDecoder().decode(output.stdout).trim();
    assert.ok(output.success, new TextDecoder().decode(output.stderr));
    assert.deepEqual(JSON.parse(stdout), { code: "ERR_WATCH_LIMIT", message: WATCH_LIMIT_MESSAGE });
  },
});

Deno.test("describeWatchError() recognises the inotify limits", () => {
  for (
    const message of [
      'OS file watch limit reached. about ["/srv/site/a"]',
      "Too many open files (os error 24)",
      "inotify_add_watch failed",
      "ENOSPC: System limit for number of file watchers reached",
    ]
  ) {
    const error = describeWatchError(new Error(message));
    assert.ok(error instanceof FileWatchError);
    assert.equal(error.code, "ERR_WATCH_LIMIT", message);
    assert.equal(error.message, WATCH_LIMIT_MESSAGE);
    assert.match(error.message, /sysctl -p$/);
  }
  const other = describeWatchError(new Error("Permission denied (os error 13)"));
  assert.equal(other.code, "ERR_WATCH_FAILED");
  assert.equal(other.message, "File watching failed: Permission denied (os error 13)");
});

Deno.test("globMatcher() follows gitignore's rules for *, ** and ?", () => {
  const ignored = globMatcher(["*.log", "dist/**", "build", "src/gen/*.js", "**/tmp/**", "a?.txt"]);
  const cases: [string, boolean][] = [
    ["x.log", true],
    ["deep/er/x.log", true],
    ["x.log.txt", false],
    ["dist/app.js", true],
    ["dist/a/b/c.css", true],
    ["distx/app.js", false],
    ["src/dist/app.js", false],
    ["build", true],
    ["build/out.js", true],
    ["src/build/out.js", true],
    ["src/gen/a.js", true],
    ["src/gen/sub/a.js", false],
    ["src/gen/a.ts", false],
    ["tmp/x", true],
    ["a/b/tmp/x", true],
    ["ab.txt", true],
    ["abc.txt", false],
    ["a/.txt", false],
    ["index.html", false],
  ];
  for (const [path, expected] of cases) assert.equal(ignored(path), expected, path);
  assert.equal(globMatcher(["a+b(c).css"])("a+b(c).css"), true);
  assert.equal(globMatcher(["a+b(c).css"])("aab(c).css"), false);
  assert.equal(globMatcher([])("anything"), false);
});

Deno.test("isIgnoredByDefault() skips dot paths, node_modules and editor temp files", () => {
  for (
    const path of [".git/HEAD", "a/.cache/x", ".hidden", "node_modules/x/y.js", "a/.foo.swp"]
  ) assert.equal(isIgnoredByDefault(path), true, path);
  for (const path of ["foo~", "4913", "5036", "a/x.tmp", "b.swp", "#a.txt#", "a.js___jb_tmp___"]) {
    assert.equal(isIgnoredByDefault(path), true, path);
  }
  for (const path of ["index.html", "404.html", "4914", "2024/post.md", "a/b.css", "tmp.html"]) {
    assert.equal(isIgnoredByDefault(path), false, path);
  }
});
