import assert from "node:assert/strict";
import { until } from "./_gateway_testing.ts";
import {
  expandTemplate,
  GatewayError,
  livingGroupMembers,
  SessionProcess,
  type SessionProcessOptions,
  type SessionState,
  type StateDetail,
} from "./supervisor.ts";

const SERVER = "require('http').createServer((q, s) => s.end('ok'))" +
  ".listen(+process.argv[1], '127.0.0.1', () => console.log('listening on ' + process.argv[1]))";
const CRASHING_SERVER = SERVER + "; setTimeout(() => process.exit(1), 150)";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

function session(options: Partial<SessionProcessOptions> & { command: string[] }): SessionProcess {
  const port = options.port ?? freePort();
  return new SessionProcess({
    id: "a",
    port,
    readyTimeoutMs: 10_000,
    restart: { maxRestarts: 3, windowMs: 60_000, backoffMs: [20, 100] },
    ...options,
    command: options.command.map((word) => word.replaceAll("{port}", String(port))),
  });
}

/** The GatewayError that `promise` rejects with. */
async function rejection(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GatewayError, String(error));
    return error;
  }
  throw new assert.AssertionError({ message: "Expected a rejection" });
}

/** Resolves with the detail of the next change to `state`; rejects after `ms`. */
function nextState(sp: SessionProcess, state: SessionState, ms = 10_000): Promise<StateDetail> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`No "${state}" within ${ms} ms (now "${sp.state}")`));
    }, ms);
    const off = sp.onState((s, detail) => {
      if (s !== state) return;
      clearTimeout(timer);
      off();
      resolve(detail);
    });
  });
}

async function assertGroupGone(pgid: number): Promise<void> {
  // The group was killed before stop() resolved; only the kernel's bookkeeping may lag.
  const deadline = Date.now() + 2000;
  while (livingGroupMembers(pgid).length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(livingGroupMembers(pgid), []);
}

Deno.test("expandTemplate() substitutes inside words after splitting, so values cannot inject", () => {
  const vars = { id: "sess-1", port: 4100, dir: "/srv/my dir; rm -rf /" };
  assert.deepEqual(
    expandTemplate(`npx vite --port {port} --base /session/{id}/ --root {dir}`, vars),
    ["npx", "vite", "--port", "4100", "--base", "/session/sess-1/", "--root", vars.dir],
  );
  assert.deepEqual(
    expandTemplate(`sh -c 'echo "{id}" && cd {dir}' "a \\"b\\"" x\\ y`, vars),
    ["sh", "-c", `echo "sess-1" && cd ${vars.dir}`, 'a "b"', "x y"],
  );
  assert.deepEqual(expandTemplate(["node", "{dir}/s.js", "{port}"], vars), [
    "node",
    `${vars.dir}/s.js`,
    "4100",
  ]);
});

Deno.test("expandTemplate() rejects bad ids, unknown placeholders and open quotes", () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      if (error instanceof GatewayError) return error.code;
    }
  };
  for (const id of ["", "-a", "a/b", "a b", "$(x)", "a;b", "x".repeat(64), "../a"]) {
    assert.deepEqual(
      code(() => expandTemplate("vite", { id, port: 1, dir: "" })),
      "ERR_BAD_SESSION_ID",
    );
  }
  const vars = { id: "a", port: 4100, dir: "/d" };
  assert.deepEqual(code(() => expandTemplate("vite --port {prot}", vars)), "ERR_BAD_TEMPLATE");
  assert.deepEqual(code(() => expandTemplate("sh -c 'echo", vars)), "ERR_BAD_TEMPLATE");
  assert.deepEqual(code(() => expandTemplate("  ", vars)), "ERR_BAD_TEMPLATE");
  assert.deepEqual(
    code(() => expandTemplate("vite", { ...vars, port: 70000 })),
    "ERR_BAD_TEMPLATE",
  );
  assert.deepEqual(expandTemplate("x {not a placeholder}", vars), [
    "x",
    "{not",
    "a",
    "placeholder}",
  ]);
});

Deno.test("SessionProcess is ready when the HTTP check passes, keeps logs and stops its group", async () => {
  const sp = session({
    command: ["node", "-e", SERVER, "{port}"],
    readiness: { type: "http", path: "/session/a/", status: 200 },
  });
  const states: SessionState[] = [];
  sp.onState((state) => states.push(state));
  const lines: string[] = [];
  sp.onLog((line) => lines.push(line.text));
  await sp.start();
  await sp.ready();
  const pid = sp.pid!;
  assert.deepEqual(await (await fetch(`http://127.0.0.1:${sp.port}/`)).text(), "ok");
  await sp.stop();
  assert.deepEqual(states, ["starting", "ready", "stopped"]);
  assert.deepEqual(lines, [`listening on ${sp.port}`]);
  assert.deepEqual(sp.logs().map((l) => [l.stream, l.text]), [[
    "stdout",
    `listening on ${sp.port}`,
  ]]);
  await assertGroupGone(pid);
  assert.match((await rejection(sp.ready())).message, /is stopped/);
});

Deno.test("SessionProcess.stop() kills grandchildren, even those that ignore SIGTERM", async () => {
  const sp = session({
    command: [
      "sh",
      "-c",
      `sleep 60 & (trap '' TERM; exec sleep 61) & exec node -e "${SERVER}" {port}`,
    ],
  });
  try {
    await sp.start();
    await sp.ready();
    // node (the leader), the two sleeps and the watchdog's watcher.
    assert.deepEqual(livingGroupMembers(sp.pid!).length, 4);
  } finally {
    const pid = sp.pid!;
    await sp.stop({ graceMs: 2000 });
    await assertGroupGone(pid);
  }
});

Deno.test("SessionProcess.ready() rejects with exit code and last lines when it exits early", async () => {
  const sp = session({
    command: ["sh", "-c", "for i in $(seq 1 30); do echo line $i; done; echo boom >&2; exit 3"],
  });
  await sp.start();
  const error = await rejection(sp.ready());
  assert.deepEqual(error.code, "ERR_EXITED_BEFORE_READY");
  assert.match(
    error.message,
    /^Session "a" exited with code 3 before it was ready\. Its output ended with:\nline 12\n/,
  );
  assert.match(error.message, /line 30\nboom$/);
  assert.ok(!error.message.includes("line 11\n"));
  assert.deepEqual(sp.state, "crashed");
  assert.match((await rejection(sp.ready())).message, /exited with code 3/);
  await sp.stop();
});

Deno.test("SessionProcess.start() names a command that is not found", async () => {
  const sp = session({ command: ["switchyard-no-such-binary", "--port", "{port}"] });
  const error = await rejection(sp.start());
  assert.deepEqual(error.code, "ERR_COMMAND_NOT_FOUND");
  assert.match(error.message, /command "switchyard-no-such-binary" was not found.*PATH/);
  assert.deepEqual((await rejection(sp.ready())).code, "ERR_COMMAND_NOT_FOUND");
  assert.deepEqual(sp.state, "crashed");
  await sp.stop();
});

Deno.test("SessionProcess.start() names a missing working directory and a program not executable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "supervisor_test_" });
  try {
    const missing = session({ command: ["sh", "-c", "exit 0"], cwd: `${dir}/nope` });
    const error = await rejection(missing.start());
    assert.deepEqual(error.code, "ERR_SPAWN_FAILED");
    assert.match(error.message, /working directory ".*\/nope" does not exist/);
    await missing.stop();

    await Deno.writeTextFile(`${dir}/dev.sh`, "#!/bin/sh\nexit 0\n", { mode: 0o644 });
    const notExecutable = session({ command: ["./dev.sh"], cwd: dir });
    const denied = await rejection(notExecutable.start());
    assert.deepEqual(denied.code, "ERR_SPAWN_FAILED");
    assert.match(denied.message, /Cannot start session "a": .*dev\.sh" is not executable/);
    await notExecutable.stop();

    await Deno.chmod(`${dir}/dev.sh`, 0o755);
    const relative = session({ command: ["./dev.sh"], cwd: dir });
    await relative.start();
    assert.match((await rejection(relative.ready())).message, /exited with code 0 before/);
    await relative.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SessionProcess kills the group when readiness times out", async () => {
  const sp = session({
    command: ["sh", "-c", "echo waiting; sleep 60 & exec sleep 60"],
    readyTimeoutMs: 300,
  });
  await sp.start();
  const pid = sp.pid!;
  const started = performance.now();
  const error = await rejection(sp.ready());
  assert.equal(error.code, "ERR_READY_TIMEOUT");
  assert.match(
    error.message,
    /not ready within 300 ms: nothing passed the tcp check on 127\.0\.0\.1:\d+, so its process group was killed.*with:\nwaiting$/s,
  );
  assert.ok(performance.now() - started < 5000);
  assert.equal(sp.state, "crashed");
  await assertGroupGone(pid);
  await sp.stop();
});

Deno.test("SessionProcess is not ready while the HTTP check gets another status", async () => {
  const sp = session({
    command: ["node", "-e", SERVER, "{port}"],
    readiness: { type: "http", path: "/", status: 204 },
    readyTimeoutMs: 500,
  });
  await sp.start();
  const error = await rejection(sp.ready());
  assert.equal(error.code, "ERR_READY_TIMEOUT");
  assert.match(error.message, /nothing passed the http check/);
  await sp.stop();
});

Deno.test("SessionProcess restarts a process killed from outside", async () => {
  const sp = session({ command: ["node", "-e", SERVER, "{port}"], random: () => 0 });
  try {
    await sp.start();
    await sp.ready();
    const first = sp.pid!;
    const crashed = nextState(sp, "crashed");
    const readyAgain = nextState(sp, "ready");
    Deno.kill(first, "SIGKILL");
    const detail = await crashed;
    assert.deepEqual(detail.error?.code, "ERR_EXITED");
    assert.match(detail.error!.message, /was killed by SIGKILL/);
    assert.deepEqual(detail.restartInMs, 10);
    await readyAgain;
    await sp.ready();
    assert.ok(sp.pid !== first);
    assert.deepEqual(await (await fetch(`http://127.0.0.1:${sp.port}/`)).text(), "ok");
  } finally {
    await sp.stop();
  }
});

Deno.test("SessionProcess gives up after maxRestarts crashes within the window", async () => {
  const sp = session({
    command: ["node", "-e", CRASHING_SERVER, "{port}"],
    restart: { maxRestarts: 2, windowMs: 60_000, backoffMs: [10, 15] },
    random: () => 1,
  });
  const delays: (number | undefined)[] = [];
  sp.onState((state, detail) => state === "crashed" && delays.push(detail.restartInMs));
  try {
    await sp.start();
    await sp.ready();
    const detail = await nextState(sp, "crashed", 10_000).then(
      function again(d): Promise<StateDetail> | StateDetail {
        return d.restartInMs === undefined ? d : nextState(sp, "crashed").then(again);
      },
    );
    assert.deepEqual(detail.error?.code, "ERR_CRASH_LOOP");
    assert.match(detail.error!.message, /crashed 3 times within 60000 ms: gave up restarting/);
    assert.deepEqual(delays, [10, 15, undefined]);
    assert.deepEqual((await rejection(sp.ready())).code, "ERR_CRASH_LOOP");
  } finally {
    await sp.stop();
  }
});

Deno.test("SessionProcess.stop() rejects ready(), escalates to SIGKILL; restart() starts anew", async () => {
  const sp = session({ command: ["sh", "-c", "exec sleep 60"] });
  await sp.start();
  const waiting = sp.ready();
  await sp.stop();
  assert.deepEqual((await rejection(waiting)).code, "ERR_STOPPED");

  const stubborn = session({
    command: ["sh", "-c", "trap '' TERM; echo trapped; sleep 60 & wait; sleep 60"],
  });
  await stubborn.start();
  const pid = stubborn.pid!;
  // Stop only once the trap is set: a SIGTERM before it would end the shell at once.
  const trapDeadline = Date.now() + 5000;
  while (!stubborn.logs().some((l) => l.text === "trapped")) {
    if (Date.now() > trapDeadline) throw new Error("the shell never set its trap");
    await new Promise((r) => setTimeout(r, 5));
  }
  const stopping = performance.now();
  await stubborn.stop({ graceMs: 200 });
  assert.ok(performance.now() - stopping >= 190);
  await assertGroupGone(pid);

  const server = session({ command: ["node", "-e", SERVER, "{port}"] });
  try {
    await server.start();
    await server.ready();
    const first = server.pid;
    await server.restart({ graceMs: 1000 });
    await server.ready();
    assert.ok(server.pid !== first);
  } finally {
    await server.stop();
  }
});

Deno.test("SessionProcess passes PATH, HOME, LANG and its env, not the server's secrets", async () => {
  Deno.env.set("SWITCHYARD_TEST_SECRET", "hunter2");
  const sp = session({
    command: ["sh", "-c", 'echo "secret=$SWITCHYARD_TEST_SECRET given=$GIVEN path=${PATH:+set}"'],
    env: { GIVEN: "yes" },
    logLines: 1,
  });
  try {
    await sp.start();
    await rejection(sp.ready());
    assert.deepEqual(sp.logs().map((l) => l.text), ["secret= given=yes path=set"]);
  } finally {
    Deno.env.delete("SWITCHYARD_TEST_SECRET");
    await sp.stop();
  }
});

/** Text of `stream` so far, read in the background; `done` settles when it ends. */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string; done: Promise<void> } {
  let text = "";
  const done = stream.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({ write: (chunk) => void (text += chunk) }),
  ).catch(() => {});
  return { text: () => text, done };
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z /.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

/** A server that supervises one session and does nothing else, to be killed by the test. */
const SUPERVISING_SERVER = `
import { SessionProcess } from ${JSON.stringify(new URL("./supervisor.ts", import.meta.url).href)};
const [port, ...command] = Deno.args;
const sp = new SessionProcess({ id: "a", port: Number(port), command, readyTimeoutMs: 10_000 });
await sp.start();
await sp.ready();
console.log("ready " + sp.pid);
setInterval(() => {}, 60_000);
`;

Deno.test("SessionProcess's group dies with the server when the server is killed with SIGKILL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "supervisor_test_" });
  await Deno.writeTextFile(`${dir}/server.ts`, SUPERVISING_SERVER);
  const port = freePort();
  const server = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--allow-all", `${dir}/server.ts`, String(port), "sh", "-c"]
      .concat(`sleep 60 & (trap '' TERM; exec sleep 61) & exec node -e "${SERVER}" ${port}`),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = collect(server.stdout);
  const err = collect(server.stderr);
  let members: number[] = [];
  try {
    const leader = Number(
      (await until(() => /ready (\d+)/.exec(out.text()), 20_000, "the session is ready"))[1],
    );
    // node (the leader), the two sleeps, one ignoring SIGTERM, and the watchdog's watcher.
    members = await until(
      () => {
        const found = livingGroupMembers(leader);
        return found.length === 4 ? found : undefined;
      },
      5000,
      "four processes in the session's group",
    );
    assert.ok(members.includes(leader));

    server.kill("SIGKILL");
    assert.deepEqual((await server.status).signal, "SIGKILL");
    await until(
      () => members.every((pid) => !alive(pid)),
      10_000,
      `every process of group ${leader} ends (left: ${members.filter(alive)})`,
    );
    assert.deepEqual(livingGroupMembers(leader), []);
  } catch (error) {
    throw new Error(`${(error as Error).message}\nserver stderr:\n${err.text()}`);
  } finally {
    try {
      server.kill("SIGKILL");
    } catch { /* already gone */ }
    await server.status;
    for (const pid of members.filter(alive)) Deno.kill(pid, "SIGKILL");
    await Promise.all([out.done, err.done]);
    await Deno.remove(dir, { recursive: true });
  }
});
