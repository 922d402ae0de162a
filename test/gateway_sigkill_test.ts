/**
 * Process lifetime of the session gateway through the real `switchyard serve` process: when
 * the server is killed with SIGKILL, no dev server and no child of one survives (the
 * watchdog's work), and none survives a SIGTERM either.
 * Linux only: the process table is read from /proc.
 *
 * @module
 */

import assert from "node:assert/strict";
import { livingGroupMembers } from "../src/services/gateway/supervisor.ts";
import { until } from "../src/services/gateway/_gateway_testing.ts";
import { deadline } from "./_deadline.ts";
import { gatewayToml, signGatewayToken } from "./_gateway_server.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;
const SESSIONS = ["a", "b"];

/**
 * A dev server that, like Vite with esbuild, starts children of its own; these two ignore
 * SIGTERM (both sleeps inherit the signal `sh` ignored). Answers with its pid, which is
 * the session's process group id.
 */
const DEV_SERVER = `
const [port, id] = Deno.args;
new Deno.Command("/bin/sh", {
  args: ["-c", "trap '' TERM; sleep 300 & exec sleep 301"],
  stdin: "null", stdout: "null", stderr: "null",
}).spawn();
Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen() {} }, () =>
  Response.json({ id, pid: Deno.pid }));
`;

/** Live (non-zombie) process `pid`, read from /proc. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /s.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

/** Text of `stream` so far, read in the background; `done` settles when it ends. */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string; done: Promise<void> } {
  let text = "";
  const done = stream.pipeThrough(new TextDecoderStream())
    .pipeTo(new WritableStream({ write: (chunk) => void (text += chunk) }))
    .catch(() => {});
  return { text: () => text, done };
}

/** A running `switchyard serve` with the gateway on, and the processes of its sessions. */
interface Served {
  child: Deno.ChildProcess;
  base: string;
  stdout: ReturnType<typeof collect>;
  stderr: ReturnType<typeof collect>;
  /** Every process seen in a session's group, for the checks and the cleanup. */
  pids: Set<number>;
  dir: string;
}

async function serve(): Promise<Served> {
  const dir = await Deno.makeTempDir({ prefix: "gateway_sigkill_" });
  await Deno.writeTextFile(`${dir}/dev_server.js`, DEV_SERVER);
  await Deno.writeTextFile(
    `${dir}/switchyard.toml`,
    gatewayToml(`${dir}/dev_server.js`, { allow: ["--allow-run"] }),
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--unstable-net",
      MAIN,
      "serve",
      ...["--config", `${dir}/switchyard.toml`, "--host", "127.0.0.1"],
      ...["--port", "0", "--http-port", "0", "--cert-dir", `${dir}/certs`],
    ],
    env: { NO_COLOR: "1", SWITCHYARD_SYNC_DATABASE: `${dir}/sync.db` },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const served: Served = {
    child,
    base: "",
    stdout: collect(child.stdout),
    stderr: collect(child.stderr),
    pids: new Set(),
    dir,
  };
  try {
    const line = await until(
      () => /^\s*HTTP\s+(http:\S+)/m.exec(served.stdout.text()),
      15_000,
      "switchyard serve prints its HTTP URL",
    );
    served.base = line[1].replace("localhost", "127.0.0.1");
    return served;
  } catch (error) {
    await cleanUp(served);
    throw error;
  }
}

/** Starts every session through the gateway; resolves with their process group ids. */
async function startSessions(served: Served): Promise<number[]> {
  const token = await signGatewayToken({ sessions: SESSIONS });
  return await Promise.all(SESSIONS.map(async (id) => {
    const res = await deadline(
      fetch(`${served.base}/session/${id}/`, { headers: { authorization: `Bearer ${token}` } }),
      30_000,
      `GET /session/${id}/`,
    );
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const answer = JSON.parse(text);
    assert.equal(answer.id, id);
    const pgid: number = answer.pid;
    // The dev server, its two sleeps and the watchdog's watcher.
    const members = await until(
      () => {
        const found = livingGroupMembers(pgid);
        return found.length === 4 ? found : undefined;
      },
      10_000,
      `four processes in session ${id}'s group (${livingGroupMembers(pgid)})`,
    );
    for (const pid of members) served.pids.add(pid);
    return pgid;
  }));
}

/** SIGKILLs the server and whatever of its sessions is left, by pid, and removes its files. */
async function cleanUp(served: Served): Promise<void> {
  try {
    served.child.kill("SIGKILL");
  } catch { /* exited already */ }
  await served.child.status;
  for (const pid of served.pids) {
    if (!alive(pid)) continue;
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* exited meanwhile */ }
  }
  await Promise.all([served.stdout.done, served.stderr.done]);
  await Deno.remove(served.dir, { recursive: true });
}

function output(served: Served): string {
  return `\nserver stdout:\n${served.stdout.text()}\nserver stderr:\n${served.stderr.text()}`;
}

/** Waits up to `ms` for every process seen in the sessions' groups to end; names survivors. */
async function assertAllGone(served: Served, pgids: number[], ms: number): Promise<void> {
  await until(() => [...served.pids].every((pid) => !alive(pid)), ms, "every session process ends")
    .catch(() => {
      throw new Error(`Still running after ${ms} ms: ${[...served.pids].filter(alive).join(", ")}`);
    });
  for (const pgid of pgids) assert.deepEqual(livingGroupMembers(pgid), []);
}

Deno.test("switchyard serve killed with SIGKILL leaves no dev server or child of one", async () => {
  const served = await serve();
  try {
    const pgids = await startSessions(served);
    assert.equal(served.pids.size, 8);

    Deno.kill(served.child.pid, "SIGKILL");
    assert.equal((await served.child.status).signal, "SIGKILL");
    // The watchdog: SIGTERM at once, SIGKILL for the sleeps that ignore it within ~1 s.
    await assertAllGone(served, pgids, 10_000);
  } catch (error) {
    throw new Error((error as Error).message + output(served), { cause: error });
  } finally {
    await cleanUp(served);
  }
});

Deno.test("switchyard serve stopped with SIGTERM exits and leaves no dev server or child of one", async () => {
  const served = await serve();
  try {
    const pgids = await startSessions(served);

    Deno.kill(served.child.pid, "SIGTERM");
    const status = await deadline(served.child.status, 15_000, "the server exits on SIGTERM");
    assert.equal(status.code, 0);
    // The server's close() killed them (tested in-process by gateway_test.ts); had it failed,
    // the watchdog would have, within milliseconds: the dev server dies of its SIGTERM at once.
    await assertAllGone(served, pgids, 5000);
  } catch (error) {
    throw new Error((error as Error).message + output(served), { cause: error });
  } finally {
    await cleanUp(served);
  }
});
