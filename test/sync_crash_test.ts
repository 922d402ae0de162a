/**
 * Crash safety of document sync, through the real `switchyard serve` process: an update whose
 * `POST /sync/docs/{doc}` was answered survives a SIGKILL at any moment, and a database folder
 * that cannot be created stops the server with a message that names the path and the fix.
 *
 * The kill moments come from a seeded PRNG; the seed is printed, and
 * `CRASH_TEST_SEED=<seed>` replays the same schedule.
 */
import { seeded } from "../client/_hub_loopback.ts";
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import * as Y from "yjs";
import { deadline } from "./_deadline.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;
const ITERATIONS = 20;
const WRITERS = 4;
const DOCS = ["crash/a", "crash/b"];
const START_MS = 10_000;

/** An update from a fresh replica that sets `key` in map "m". */
function markerUpdate(key: string): Uint8Array<ArrayBuffer> {
  const doc = new Y.Doc();
  doc.getMap("m").set(key, key);
  const update = Y.encodeStateAsUpdate(doc) as Uint8Array<ArrayBuffer>;
  doc.destroy();
  return update;
}

function serveCommand(args: string[], env: Record<string, string>): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-net", MAIN, "serve", ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  });
}

/** Collects a stream's text and resolves the first line that matches. */
class LineWatch {
  text = "";
  readonly done: Promise<void>;
  #waiters = new Set<{ pred: (line: string) => boolean; resolve: (line: string) => void }>();

  constructor(stream: ReadableStream<Uint8Array>) {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    this.done = (async () => {
      let partial = "";
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: "", done: true }));
        if (done) return;
        this.text += value;
        const lines = (partial + value).split("\n");
        partial = lines.pop()!;
        for (const line of lines) {
          for (const waiter of this.#waiters) {
            if (!waiter.pred(line)) continue;
            this.#waiters.delete(waiter);
            waiter.resolve(line);
          }
        }
      }
    })();
  }

  /** The next line that matches; rejects once the stream ends without one. */
  next(pred: (line: string) => boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#waiters.add({ pred, resolve });
      this.done.then(() => reject(new Error("the output ended")));
    });
  }
}

/** A `switchyard serve` child process. */
interface Served {
  child: Deno.ChildProcess;
  url: string;
  stdout: LineWatch;
  stderr: LineWatch;
  exited: () => boolean;
}

/** Starts `switchyard serve` on free ports and resolves once its HTTP URL is printed. */
async function startServe(dir: string, database: string): Promise<Served> {
  const child = serveCommand(
    ["--host", "127.0.0.1", "--port", "0", "--http-port", "0", "--cert-dir", `${dir}/certs`],
    // Compacting often puts some kills in the middle of a compaction.
    { SWITCHYARD_SYNC_DATABASE: database, SWITCHYARD_SYNC_COMPACT_AFTER_UPDATES: "40" },
  ).spawn();
  let gone = false;
  child.status.then(() => gone = true);
  const stdout = new LineWatch(child.stdout);
  const stderr = new LineWatch(child.stderr);
  const served = { child, url: "", stdout, stderr, exited: () => gone };
  try {
    const line = await deadline(
      stdout.next((l) => /^\s*HTTP\s+http:/.test(l)),
      START_MS,
      "switchyard serve prints its HTTP URL",
    );
    served.url = line.trim().split(/\s+/).at(-1)!;
    return served;
  } catch (error) {
    await stop(served);
    throw new Error(
      `switchyard serve did not start: ${(error as Error).message}\n` +
        `stdout:\n${stdout.text}\nstderr:\n${stderr.text}`,
    );
  }
}

/** SIGKILLs the process unless it is gone, and waits for it and its output streams. */
async function stop(served: Omit<Served, "url">): Promise<Deno.CommandStatus> {
  if (!served.exited()) {
    try {
      served.child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }
  const status = await deadline(served.child.status, 5_000, "the server exits");
  await deadline(
    Promise.all([served.stdout.done, served.stderr.done]),
    5_000,
    "the server's output ends",
  );
  return status;
}

interface Ack {
  doc: string;
  key: string;
  seq: number;
}

/**
 * POSTs markers until the server is killed; pushes every acknowledged one to `acks`. A failure
 * while the server is meant to be up is reported through the returned promise.
 */
async function writer(
  url: string,
  w: number,
  round: number,
  state: { killed: boolean; acks: Ack[]; firstAck: PromiseWithResolvers<void> },
): Promise<void> {
  const doc = DOCS[w % DOCS.length];
  for (let n = 0; !state.killed; n++) {
    const key = `r${round}-w${w}-${n}`;
    let status: number;
    let body: { seq?: number; error?: string };
    try {
      const res = await fetch(`${url}/sync/docs/${doc}`, {
        method: "POST",
        body: markerUpdate(key),
      });
      status = res.status;
      body = await res.json();
    } catch (error) {
      if (state.killed) return;
      throw new Error(`POST ${key} failed while the server was up: ${error}`);
    }
    if (status !== 200 || !(typeof body.seq === "number" && body.seq > 0)) {
      if (state.killed) return;
      throw new Error(`POST ${key} answered ${status} ${JSON.stringify(body)}`);
    }
    state.acks.push({ doc, key, seq: body.seq });
    state.firstAck.resolve();
  }
}

/** Fails when the server logged a warning or an error (a corrupt row, a failed commit). */
function assertQuiet(served: Served, where: string): void {
  const noisy = served.stderr.text.split("\n").filter((l) => /"level":"(warn|error)"/.test(l));
  assert.deepEqual(noisy, [], `${where}: the server logged trouble`);
}

/** The keys of map "m" of `doc` as the server serves it, and its seq cursor. */
async function fetchDoc(url: string, doc: string): Promise<{ keys: Set<string>; seq: number }> {
  const res = await fetch(`${url}/sync/docs/${doc}`);
  assert.equal(res.status, 200, `GET ${doc}`);
  const seq = Number(res.headers.get("x-switchyard-seq"));
  const replica = new Y.Doc();
  Y.applyUpdate(replica, new Uint8Array(await res.arrayBuffer()));
  const m = replica.getMap<string>("m");
  const keys = new Set([...m.keys()].filter((k) => m.get(k) === k));
  replica.destroy();
  return { keys, seq };
}

Deno.test("switchyard serve keeps every acknowledged update across SIGKILLs", async () => {
  const seed = Number(Deno.env.get("CRASH_TEST_SEED") ?? Math.floor(Math.random() * 2 ** 32));
  console.log(`sync crash test: seed ${seed} (replay with CRASH_TEST_SEED=${seed})`);
  const random = seeded(seed);
  const dir = await Deno.makeTempDir({ prefix: "switchyard-crash-" });
  const database = `${dir}/db/sync.db`;
  const acked: Ack[] = [];
  // What a freshly started server served: stored, so it must never disappear.
  const durable = new Map(DOCS.map((d) => [d, new Set<string>()]));
  let maxAckedSeq = 0;
  let kills = 0;
  let served: Served | undefined;
  const started = performance.now();
  try {
    for (let round = 0; round <= ITERATIONS; round++) {
      const where = `round ${round}, seed ${seed}`;
      const s = served = await startServe(dir, database);

      let before = 0;
      let after = 0;
      for (const doc of DOCS) {
        const { keys, seq } = await fetchDoc(s.url, doc);
        const lost = acked.filter((a) => a.doc === doc && !keys.has(a.key));
        assert.deepEqual(
          lost.map((a) => `${a.key} (seq ${a.seq})`),
          [],
          `${where}: acknowledged updates to ${doc} lost`,
        );
        const gone = [...durable.get(doc)!].filter((k) => !keys.has(k));
        assert.deepEqual(gone, [], `${where}: updates to ${doc} served after a restart then lost`);
        assert.ok(
          seq >= maxAckedSeq,
          `${where}: seq cursor ${seq} below acknowledged ${maxAckedSeq}`,
        );
        before += durable.get(doc)!.size;
        after += keys.size;
        durable.set(doc, keys);
      }
      if (round > 0) assert.ok(after > before, `${where}: the documents did not grow (${after})`);
      if (round === ITERATIONS) {
        assertQuiet(s, where);
        await stop(s);
        served = undefined;
        break;
      }

      const state = { killed: false, acks: [] as Ack[], firstAck: Promise.withResolvers<void>() };
      const writers = Array.from({ length: WRITERS }, (_, w) => writer(s.url, w, round, state));
      const failed = Promise.race(writers).then(() => {
        if (!state.killed) throw new Error(`${where}: a writer stopped before the kill`);
      });
      // The kill clock starts once updates flow, so every round stores at least one.
      const killAfter = 50 + Math.floor(random() * 351);
      await deadline(Promise.race([state.firstAck.promise, failed]), START_MS, "a first ack");
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([new Promise((r) => timer = setTimeout(r, killAfter)), failed])
        .finally(() => clearTimeout(timer));
      assert.ok(!s.exited(), `${where}: the server exited by itself\n${s.stderr.text}`);
      assertQuiet(s, where);
      state.killed = true;
      const status = await stop(s);
      served = undefined;
      kills++;
      assert.equal(status.signal, "SIGKILL", `${where}: killed ${killAfter} ms into the stream`);
      await deadline(Promise.all(writers), 5_000, "the writers stop after the kill");
      const seqs = state.acks.map((a) => a.seq);
      assert.ok(
        Math.min(...seqs) > maxAckedSeq,
        `${where}: a seq was given out again after a restart`,
      );
      maxAckedSeq = Math.max(...seqs);
      acked.push(...state.acks);
    }
    const db = new DatabaseSync(database);
    try {
      const rows = db.prepare("PRAGMA integrity_check").all();
      assert.deepEqual(rows.map((r) => r.integrity_check), ["ok"]);
    } finally {
      db.close();
    }
  } finally {
    if (served) await stop(served);
    console.log(
      `sync crash test: ${acked.length} acknowledged updates, ${kills} kills, ` +
        `${Math.round(performance.now() - started)} ms`,
    );
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("switchyard serve refuses to start when the sync database folder cannot be created", async () => {
  const dir = await Deno.makeTempDir({ prefix: "switchyard-crash-" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "not a folder");
    const database = `${dir}/file/db/sync.db`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", "--unstable-net", MAIN, "serve", "--host", "127.0.0.1"]
        .concat(["--port", "0", "--http-port", "0", "--cert-dir", `${dir}/certs`]),
      env: { NO_COLOR: "1", SWITCHYARD_SYNC_DATABASE: database },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(START_MS),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.signal, null, `killed after ${START_MS} ms: it kept running\n${stderr}`);
    assert.equal(out.code, 1, stderr);
    const message = stderr.split("\n").find((l) => l.startsWith("switchyard: ")) ?? stderr;
    assert.ok(message.includes(`Cannot open sync database "${database}"`), message);
    assert.ok(message.includes(`cannot create folder "${dir}/file/db" (ENOTDIR)`), message);
    assert.ok(
      message.includes(
        "create it as a writable folder or point [sync] database (SWITCHYARD_SYNC_DATABASE) at another path",
      ),
      message,
    );
    assert.doesNotMatch(stderr, /Uncaught|^\s+at /m, "no stack trace");
    assert.doesNotMatch(stdout, /Press Ctrl\+C/, "it never claims to serve");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
