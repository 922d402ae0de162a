/**
 * A real Vite for end-to-end tests: installed once from `test/fixtures/vite/package-lock.json`
 * with `npm ci` (the version bench/peers uses), and a vanilla project per session whose
 * `counter.js` accepts its own hot updates.
 *
 * @module
 */

const FIXTURE = new URL("./fixtures/vite/", import.meta.url).pathname;

/** Vite's CLI entry, run with `node`. */
export const VITE_BIN = `${FIXTURE}node_modules/vite/bin/vite.js`;

/** npm writes its hidden lock file last, so a half-finished install lacks it. */
const INSTALLED_MARKER = `${FIXTURE}node_modules/.package-lock.json`;
const INSTALL_LOCK = "/tmp/switchyard-test-vite-install.lock";
const INSTALL_TIMEOUT_MS = 180_000;

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function installed(): boolean {
  return exists(VITE_BIN) && exists(INSTALLED_MARKER);
}

/** Linux only, like the gateway's process-group checks. */
function alive(pid: number): boolean {
  return exists(`/proc/${pid}`);
}

/**
 * Installs Vite into the fixture unless it is there; returns how long the install took (0
 * when none was needed). Concurrent test processes take turns through a lock file holding
 * the installer's pid; a lock whose process is gone is taken over.
 */
export async function ensureVite(): Promise<number> {
  if (installed()) return 0;
  const started = performance.now();
  const deadlineAt = Date.now() + INSTALL_TIMEOUT_MS;
  while (true) {
    let lock: Deno.FsFile;
    try {
      lock = await Deno.open(INSTALL_LOCK, { write: true, createNew: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const holder = Number(await Deno.readTextFile(INSTALL_LOCK).catch(() => ""));
      if (holder > 0 && !alive(holder)) {
        await Deno.remove(INSTALL_LOCK).catch(() => {});
        continue;
      }
      if (Date.now() > deadlineAt) {
        throw new Error(`Vite install did not finish: remove ${INSTALL_LOCK} if stale`);
      }
      // Another process installs: its npm gives us nothing to wait on but the files.
      await new Promise((resolve) => setTimeout(resolve, 200));
      if (installed()) return performance.now() - started;
      continue;
    }
    try {
      await lock.write(new TextEncoder().encode(String(Deno.pid)));
      lock.close();
      if (installed()) return performance.now() - started;
      const npm = new Deno.Command("npm", {
        args: ["ci", "--no-audit", "--no-fund"],
        cwd: FIXTURE,
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(INSTALL_TIMEOUT_MS),
      });
      const { code, stdout, stderr } = await npm.output();
      if (code !== 0 || !installed()) {
        const out = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
        throw new Error(`npm ci in ${FIXTURE} failed (exit ${code}): ${out.slice(-2000)}`);
      }
      return performance.now() - started;
    } finally {
      await Deno.remove(INSTALL_LOCK).catch(() => {});
    }
  }
}

/**
 * Saves `text` to `path` the way editors do, whole or not at all: into a temporary file
 * beside it, then renamed over it. A plain write truncates first, and Vite's watcher may read
 * the empty file in between; Vite then serves an empty module whose update never arrives and
 * which no longer accepts itself, so the next save reloads the page.
 */
export async function saveFile(path: string, text: string): Promise<void> {
  const temporary = `${path}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(temporary, text);
  await Deno.rename(temporary, path);
}

/** Source of `counter.js` showing `label`: it renders itself again on a hot update. */
export function counterSource(label: string): string {
  return `export const label = ${JSON.stringify(label)};
export function render() {
  document.querySelector("#counter").textContent = label;
  (window.__renders ??= []).push({ label, at: performance.timeOrigin + performance.now() });
}
if (import.meta.hot) {
  import.meta.hot.accept((next) => next?.render());
}
`;
}

/** `index.html` of session `id`; `title` lets a test change the page to force a reload. */
export function indexSource(id: string, title = `session ${id}`): string {
  return `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>${title}</title></head>
  <body>
    <h1 id="session">${id}</h1>
    <p id="counter"></p>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`;
}

/** Writes a vanilla Vite project into `dir`: index.html, main.js and `counter.js` (`label`). */
export async function writeViteProject(dir: string, id: string, label: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/index.html`, indexSource(id));
  await Deno.writeTextFile(`${dir}/main.js`, 'import { render } from "./counter.js";\nrender();\n');
  await Deno.writeTextFile(`${dir}/counter.js`, counterSource(label));
}

/** The gateway's command template that runs the fixture's Vite for one session. */
function viteCommand(): string[] {
  return [
    "node",
    VITE_BIN,
    "--port",
    "{port}",
    "--base",
    "/session/{id}/",
    "--strictPort",
    "--host",
    "127.0.0.1",
  ];
}

/**
 * `[auth]` and `[gateway]` of a Switchyard that runs the fixture's Vite for each session in
 * `root/{id}`, tokens signed with `secret`.
 */
export function viteGatewayToml(
  root: string,
  ports: readonly [number, number],
  options: { secret: string; readyTimeoutMs: number; maxSessions: number },
): string {
  const command = viteCommand().map((arg) => JSON.stringify(arg)).join(" ");
  return `
[auth]
hmac_secret = "${options.secret}"

[gateway]
enabled = true
command = ${JSON.stringify(command)}
cwd = "${root}/{id}"
ready = "/session/{id}/"
ready_timeout_ms = ${options.readyTimeoutMs}
port_range = "${ports[0]}-${ports[1]}"
max_sessions = ${options.maxSessions}
`;
}
