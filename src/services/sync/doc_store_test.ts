import assert from "node:assert/strict";
import { DocStore } from "./doc_store.ts";
import { SyncError } from "./sync_error.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

async function withStore(
  fn: (store: DocStore, path: string) => void | Promise<void>,
  options: { synchronous?: "full" | "normal" } = {},
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "doc_store_test_" });
  const path = `${dir}/nested/sync.db`;
  const store = DocStore.open({ path, ...options });
  try {
    await fn(store, path);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function assertSyncError(error: unknown, code: string, ...parts: (string | RegExp)[]): true {
  assert.ok(error instanceof SyncError, `expected a SyncError, got ${error}`);
  assert.equal(error.code, code);
  for (const part of parts) {
    if (typeof part === "string") assert.ok(error.message.includes(part), error.message);
    else assert.match(error.message, part);
  }
  return true;
}

Deno.test("DocStore.load() of an unknown document is empty", async () => {
  await withStore((store) => {
    assert.deepEqual(store.load("nobody"), {
      snapshot: null,
      snapshotSeq: 0,
      updates: [],
      bytes: 0,
    });
    assert.equal(store.lastSeq(), 0);
    assert.deepEqual(store.changesSince(0, 10), []);
  });
});

Deno.test("DocStore.append() and load() round-trip the bytes in seq order", async () => {
  await withStore((store) => {
    const backing = bytes(9, 9, 1, 2, 3, 9);
    const seqs = store.append([
      { doc: "a", data: bytes(1) },
      { doc: "b", data: bytes(2, 2) },
      { doc: "a", data: backing.subarray(2, 5) },
    ]);
    assert.deepEqual(seqs, [1, 2, 3]);
    assert.deepEqual(store.append([{ doc: "a", data: bytes(4) }]), [4]);
    assert.deepEqual(store.load("a"), {
      snapshot: null,
      snapshotSeq: 0,
      updates: [
        { seq: 1, data: bytes(1) },
        { seq: 3, data: bytes(1, 2, 3) },
        { seq: 4, data: bytes(4) },
      ],
      bytes: 5,
    });
    assert.equal(store.load("b").bytes, 2);
    assert.equal(store.lastSeq(), 4);
    assert.deepEqual(store.append([]), []);
  });
});

Deno.test("DocStore.append() stores a batch all or nothing", async () => {
  await withStore((store) => {
    store.append([{ doc: "a", data: bytes(1) }]);
    assert.throws(
      () =>
        store.append([
          { doc: "a", data: bytes(2) },
          { doc: "b", data: null as unknown as Uint8Array },
        ]),
      (e) => assertSyncError(e, "ERR_UNAVAILABLE", "Cannot store 2 update(s)"),
    );
    assert.deepEqual(store.load("a").updates.map((u) => u.seq), [1]);
    assert.equal(store.load("a").bytes, 1);
    assert.deepEqual(store.load("b").updates, []);
    assert.equal(store.lastSeq(), 1, "a rolled back batch gives out no seq");
    assert.deepEqual(store.append([{ doc: "b", data: bytes(3) }]), [2]);
  });
});

Deno.test("DocStore.compact() replaces the log up to a seq with the snapshot", async () => {
  await withStore((store) => {
    store.append([
      { doc: "a", data: bytes(1) },
      { doc: "b", data: bytes(2) },
      { doc: "a", data: bytes(3, 3) },
      { doc: "a", data: bytes(4, 4, 4) },
    ]);
    store.compact("a", bytes(7, 7, 7, 7, 7), 3);
    assert.deepEqual(store.load("a"), {
      snapshot: bytes(7, 7, 7, 7, 7),
      snapshotSeq: 3,
      updates: [{ seq: 4, data: bytes(4, 4, 4) }],
      bytes: 8,
    });
    assert.deepEqual(store.load("b").updates, [{ seq: 2, data: bytes(2) }], "b is untouched");

    store.compact("a", bytes(8), 4);
    assert.deepEqual(store.load("a"), {
      snapshot: bytes(8),
      snapshotSeq: 4,
      updates: [],
      bytes: 1,
    });
    store.compact("a", bytes(6, 6), 3);
    assert.deepEqual(store.load("a").snapshot, bytes(8), "a stale compaction is ignored");
    assert.throws(() => store.compact("a", bytes(5), 5), RangeError);
    assert.equal(store.load("a").snapshotSeq, 4);
  });
});

Deno.test("DocStore seqs only grow, across compaction and reopening", async () => {
  await withStore((store, path) => {
    const first = store.append([{ doc: "a", data: bytes(1) }, { doc: "a", data: bytes(2) }]);
    store.compact("a", bytes(9), 2);
    assert.equal(store.lastSeq(), 2, "compaction keeps the last seq");
    const [third] = store.append([{ doc: "a", data: bytes(3) }]);
    assert.ok(third > first[1]);
    store.compact("a", bytes(9), third);
    store.close();

    const reopened = DocStore.open({ path });
    try {
      assert.equal(reopened.lastSeq(), third, "the last seq survives a restart with an empty log");
      const [fourth] = reopened.append([{ doc: "b", data: bytes(4) }]);
      assert.ok(fourth > third);
    } finally {
      reopened.close();
    }
  });
});

Deno.test("DocStore.changesSince() pages through changed documents by last seq", async () => {
  await withStore((store) => {
    store.append([{ doc: "a", data: bytes(1) }]); // 1
    store.append([{ doc: "b", data: bytes(1) }, { doc: "c", data: bytes(1) }]); // 2, 3
    store.append([{ doc: "a", data: bytes(2) }]); // 4
    assert.deepEqual(store.changesSince(0, 10), [
      { doc: "b", seq: 2 },
      { doc: "c", seq: 3 },
      { doc: "a", seq: 4 },
    ]);
    assert.deepEqual(store.changesSince(0, 2), [{ doc: "b", seq: 2 }, { doc: "c", seq: 3 }]);
    assert.deepEqual(store.changesSince(3, 2), [{ doc: "a", seq: 4 }]);
    assert.deepEqual(store.changesSince(4, 2), []);

    store.compact("a", bytes(9), 4);
    assert.deepEqual(store.changesSince(3, 10), [{ doc: "a", seq: 4 }], "compaction is no change");
    store.append([{ doc: "b", data: bytes(3) }]); // 5
    assert.deepEqual(store.changesSince(2, 10), [
      { doc: "c", seq: 3 },
      { doc: "a", seq: 4 },
      { doc: "b", seq: 5 },
    ]);
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => store.changesSince(0, limit), RangeError);
    }
  });
});

Deno.test("DocStore keeps everything across close and reopen", async () => {
  await withStore((store, path) => {
    store.append([{ doc: "a", data: bytes(1) }, { doc: "b", data: bytes(2, 2) }]);
    store.compact("a", bytes(5, 5), 1);
    store.append([{ doc: "a", data: bytes(3) }]);
    const before = { a: store.load("a"), b: store.load("b"), changes: store.changesSince(0, 10) };
    store.close();
    store.close();

    for (const synchronous of ["normal", "full"] as const) {
      const reopened = DocStore.open({ path, synchronous });
      try {
        assert.deepEqual(
          { a: reopened.load("a"), b: reopened.load("b"), changes: reopened.changesSince(0, 10) },
          before,
        );
      } finally {
        reopened.close();
      }
    }
  });
});

Deno.test("DocStore methods throw ERR_UNAVAILABLE once closed", async () => {
  await withStore((store) => {
    store.close();
    assert.throws(
      () => store.append([{ doc: "a", data: bytes(1) }]),
      (e) => assertSyncError(e, "ERR_UNAVAILABLE", "closed"),
    );
    assert.throws(() => store.load("a"), (e) => assertSyncError(e, "ERR_UNAVAILABLE"));
    assert.throws(() => store.lastSeq(), (e) => assertSyncError(e, "ERR_UNAVAILABLE"));
  });
});

Deno.test("DocStore.open() names the path and the fix for a file that is not a database", async () => {
  const dir = await Deno.makeTempDir({ prefix: "doc_store_test_" });
  try {
    const path = `${dir}/notes.txt`;
    await Deno.writeTextFile(path, "Not a database. ".repeat(64));
    assert.throws(
      () => DocStore.open({ path }),
      (e) =>
        assertSyncError(
          e,
          "ERR_STORE_OPEN",
          `"${path}"`,
          "not a SQLite database",
          "[sync] database",
        ),
    );
    assert.equal(await Deno.readTextFile(path), "Not a database. ".repeat(64), "left untouched");
    assert.throws(
      () => DocStore.open({ path: dir }),
      (e) => assertSyncError(e, "ERR_STORE_OPEN", `"${dir}"`, "is a folder"),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DocStore.open() names the folder and the fix when it cannot be created", async () => {
  const dir = await Deno.makeTempDir({ prefix: "doc_store_test_" });
  try {
    await Deno.writeTextFile(`${dir}/file`, "");
    assert.throws(
      () => DocStore.open({ path: `${dir}/file/sub/sync.db` }),
      (e) =>
        assertSyncError(
          e,
          "ERR_STORE_OPEN",
          `cannot create folder "${dir}/file/sub"`,
          "[sync] database",
        ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("DocStore.open() names the folder and the fix when it is not writable", async () => {
  const dir = await Deno.makeTempDir({ prefix: "doc_store_test_" });
  const path = `${dir}/ro/sync.db`;
  try {
    await Deno.mkdir(`${dir}/ro`, { mode: 0o555 });
    await Deno.chmod(`${dir}/ro`, 0o555);
    let error: { code?: string; message: string };
    if (Deno.uid() === 0) {
      // root writes anywhere: open it as the unprivileged user "nobody" instead.
      error = await openAsNobody(dir, path);
    } else {
      try {
        DocStore.open({ path }).close();
        error = { message: "opened" };
      } catch (e) {
        error = e as SyncError;
      }
    }
    assert.equal(error.code, "ERR_STORE_OPEN", error.message);
    assert.match(error.message, /^Cannot open sync database ".*": folder ".*\/ro" is not writable/);
    assert.ok(error.message.includes(path), error.message);
    assert.ok(error.message.includes("[sync] database"), error.message);
  } finally {
    await Deno.chmod(`${dir}/ro`, 0o755);
    await Deno.remove(dir, { recursive: true });
  }
});

async function openAsNobody(
  dir: string,
  path: string,
): Promise<{ code?: string; message: string }> {
  await Deno.chmod(dir, 0o755);
  await Deno.mkdir(`${dir}/deno_dir`, { mode: 0o777 });
  await Deno.chmod(`${dir}/deno_dir`, 0o777);
  const script = `${dir}/probe.ts`;
  await Deno.writeTextFile(
    script,
    `import { DocStore } from ${JSON.stringify(new URL("./doc_store.ts", import.meta.url).href)};
try { DocStore.open({ path: ${
      JSON.stringify(path)
    } }).close(); console.log("{\\"message\\":\\"opened\\"}"); }
catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`,
  );
  await Deno.chmod(script, 0o644);
  const out = await new Deno.Command("setpriv", {
    args: ["--reuid=65534", "--regid=65534", "--clear-groups", "--", Deno.execPath(), "run"]
      .concat(["--no-config", "--allow-read", "--allow-write", script]),
    env: { DENO_DIR: `${dir}/deno_dir`, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.ok(out.success && text, new TextDecoder().decode(out.stderr));
  return JSON.parse(text);
}

Deno.test("DocStore.open() rejects an unknown synchronous mode", () => {
  assert.throws(
    () => DocStore.open({ path: ":memory:", synchronous: "off" as "full" }),
    RangeError,
  );
});
