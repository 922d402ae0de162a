import assert from "node:assert/strict";
import { livingGroupMembers, signalGroup } from "./_process_group.ts";
import { deadline } from "./_proxy_testing.ts";
import { resolveProgram, watchedCommand } from "./_watchdog.ts";
import { until } from "./_gateway_testing.ts";

const ENV = { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" };

/** Runs `command` under the watchdog; `finish()` kills what is left and frees everything. */
function watched(command: string[], graceSeconds = 1) {
  const child = watchedCommand(command, { env: ENV, graceSeconds }).spawn();
  let stdout = "";
  let stderr = "";
  const decode = (stream: ReadableStream<Uint8Array>, add: (text: string) => void) =>
    stream.pipeThrough(new TextDecoderStream()).pipeTo(new WritableStream({ write: add }));
  const drained = Promise.all([
    decode(child.stdout, (t) => void (stdout += t)),
    decode(child.stderr, (t) => void (stderr += t)),
  ]);
  let members: number[] = [];
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    /** Records the group's members now, so `finish()` can kill survivors by pid. */
    members(): number[] {
      members = livingGroupMembers(child.pid);
      return members;
    },
    async finish(): Promise<void> {
      signalGroup(child.pid, "SIGKILL");
      for (const pid of members) {
        try {
          Deno.kill(pid, "SIGKILL");
        } catch { /* gone */ }
      }
      await child.status;
      await child.stdin.close().catch(() => {});
      await drained;
    },
  };
}

Deno.test("watchedCommand() kills the group, even what ignores SIGTERM, once its stdin closes", async () => {
  const run = watched([
    "sh",
    "-c",
    "sleep 60 & (trap '' TERM; exec sleep 61) & echo started; exec sleep 62",
  ]);
  try {
    await until(() => run.stdout() === "started\n", 5000, "the command prints");
    // The leader (sleep 62), the two sleeps and the watcher.
    await until(() => run.members().length === 4, 5000, "four processes in the group");
    const closed = performance.now();
    await run.child.stdin.close();
    const status = await deadline(run.child.status, "the leader exits");
    assert.deepEqual(status.signal, "SIGTERM");
    await until(() => livingGroupMembers(run.child.pid).length === 0, 5000, "the group ends");
    // With the leader gone the watcher waits at most a second more for the SIGKILL.
    assert.ok(performance.now() - closed < 3000);
  } finally {
    await run.finish();
  }
});

Deno.test("watchedCommand() gives the command's exit code, output and an empty stdin", async () => {
  const run = watched(["sh", "-c", 'read -r line; echo "read=$? [$line]"; echo oops >&2; exit 7']);
  try {
    const status = await deadline(run.child.status, "the command exits");
    assert.deepEqual([status.code, status.signal], [7, null]);
    await until(() => run.stdout() && run.stderr(), 5000, "the output");
    assert.deepEqual(run.stdout(), "read=1 []\n");
    assert.deepEqual(run.stderr(), "oops\n");
  } finally {
    await run.finish();
  }
});

Deno.test("watchedCommand() leaves signals to the command, which is the group leader", async () => {
  for (const signal of ["SIGINT", "SIGTERM", "SIGKILL"] as const) {
    const run = watched(["sh", "-c", "echo $$; exec sleep 60"]);
    try {
      const pid = Number(await until(() => run.stdout().trim(), 5000, "the pid"));
      assert.deepEqual(pid, run.child.pid, "the command runs in the watchdog's process");
      Deno.kill(run.child.pid, signal);
      assert.deepEqual((await deadline(run.child.status, `${signal} ends it`)).signal, signal);
    } finally {
      await run.finish();
    }
  }
});

Deno.test("resolveProgram() finds programs like sh does and tells missing from not executable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "watchdog_test_" });
  try {
    await Deno.mkdir(`${dir}/bin`);
    await Deno.writeTextFile(`${dir}/bin/tool`, "#!/bin/sh\n", { mode: 0o755 });
    await Deno.writeTextFile(`${dir}/plain`, "", { mode: 0o644 });
    await Deno.mkdir(`${dir}/bin/dir`);
    assert.deepEqual(resolveProgram("tool", { path: `/nowhere:${dir}/bin` }), `${dir}/bin/tool`);
    assert.deepEqual(resolveProgram("tool", { path: "bin", cwd: dir }), `${dir}/bin/tool`);
    assert.deepEqual(resolveProgram("./bin/tool", { path: "", cwd: dir }), `${dir}/./bin/tool`);
    assert.deepEqual(resolveProgram(`${dir}/bin/tool`, { path: "" }), `${dir}/bin/tool`);
    assert.throws(() => resolveProgram("tool", { path: "/nowhere" }), Deno.errors.NotFound);
    assert.throws(() => resolveProgram("dir", { path: `${dir}/bin` }), Deno.errors.NotFound);
    assert.throws(() => resolveProgram("bin/dir", { cwd: dir }), Deno.errors.NotFound);
    assert.throws(
      () => resolveProgram("plain", { path: ":/nowhere", cwd: dir }),
      Deno.errors.PermissionDenied,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
