import assert from "node:assert/strict";
import { setImmediate } from "node:timers";
import * as Y from "yjs";
import { deadline } from "../../../test/_deadline.ts";
import { DocManager, type DocManagerOptions, type DocManagerStore } from "./doc_manager.ts";
import { type AppendEntry, DocStore, type StoredDoc } from "./doc_store.ts";
import { SyncError, type SyncErrorCode } from "./sync_error.ts";
import type { CommittedUpdate, SyncLimits } from "./types.ts";

const LIMITS: SyncLimits = { maxDocBytes: 1_048_576, maxUpdateBytes: 65_536, maxDocsLoaded: 100 };
const REMOTE = Symbol("remote");

/** A manual clock for the unload timers: time moves only on `advance`. */
class FakeTimers {
  time = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #next = 1;

  setTimeout(callback: () => void, ms: number): number {
    this.#timers.set(this.#next, { at: this.time + ms, callback });
    return this.#next++;
  }

  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number);
  }

  advance(ms: number): void {
    this.time += ms;
    for (const [id, timer] of [...this.#timers].sort((a, b) => a[1].at - b[1].at)) {
      if (timer.at > this.time || !this.#timers.has(id)) continue;
      this.#timers.delete(id);
      timer.callback();
    }
  }
}

/** The real store with counters and switches: a slow load, a failing append. */
class SpyStore implements DocManagerStore {
  readonly appends: number[] = [];
  loads = 0;
  failAppend = false;
  loadGate: Promise<void> | undefined;
  readonly compacted = Promise.withResolvers<void>();

  constructor(readonly inner: DocStore) {}

  load(doc: string): StoredDoc | Promise<StoredDoc> {
    this.loads++;
    const gate = this.loadGate;
    return gate ? gate.then(() => this.inner.load(doc)) : this.inner.load(doc);
  }

  append(batch: readonly AppendEntry[]): number[] {
    this.appends.push(batch.length);
    if (this.failAppend) throw new Error("disk I/O error");
    return this.inner.append(batch);
  }

  compact(doc: string, snapshot: Uint8Array, uptoSeq: number): void {
    this.inner.compact(doc, snapshot, uptoSeq);
    this.compacted.resolve();
  }
}

interface Setup {
  path: string;
  store: DocStore;
  spy: SpyStore;
  docs: DocManager;
  timers: FakeTimers;
  restart(options?: Partial<DocManagerOptions>): Promise<void>;
}

async function withDocs(
  options: Partial<DocManagerOptions>,
  fn: (s: Setup) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "doc_manager_test_" });
  const path = `${dir}/sync.db`;
  const timers = new FakeTimers();
  const make = (store: DocStore, extra: Partial<DocManagerOptions> = {}) => {
    const spy = new SpyStore(store);
    const docs = new DocManager({ store: spy, limits: LIMITS, timers, ...options, ...extra });
    return { spy, docs };
  };
  const store = DocStore.open({ path });
  const s: Setup = {
    path,
    store,
    timers,
    ...make(store),
    async restart(extra) {
      await s.docs.close();
      s.store.close();
      s.store = DocStore.open({ path });
      Object.assign(s, make(s.store, extra));
    },
  };
  try {
    await deadline(fn(s), 10_000, "the test body");
  } finally {
    await s.docs.close();
    s.store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function edit(fn: (text: Y.Text) => void, base?: Y.Doc): { doc: Y.Doc; update: Uint8Array } {
  const doc = new Y.Doc();
  if (base) Y.applyUpdate(doc, Y.encodeStateAsUpdate(base));
  const sv = Y.encodeStateVector(doc);
  fn(doc.getText("t"));
  return { doc, update: Y.encodeStateAsUpdate(doc, sv) };
}

const text = (doc: Y.Doc) => doc.getText("t").toString();

async function rejectsWith(promise: Promise<unknown>, code: SyncErrorCode): Promise<SyncError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SyncError, `expected a SyncError, got ${error}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, got a result`);
}

Deno.test("DocManager makes two clients editing through it converge", async () => {
  await withDocs({}, async ({ docs }) => {
    const name = "notes/shared";
    const clients = [new Y.Doc(), new Y.Doc()];
    const acks: Promise<number>[] = [];
    clients.forEach((client, id) => {
      client.on("update", (update: Uint8Array, origin: unknown) => {
        if (origin !== REMOTE) acks.push(docs.apply(name, update, id));
      });
    });
    docs.onUpdate(({ doc, update, origin }) => {
      if (doc !== name) return;
      clients.forEach((client, id) => id !== origin && Y.applyUpdate(client, update, REMOTE));
    });
    const loaded = await docs.open(name);
    const [a, b] = clients.map((c) => c.getText("t"));
    a.insert(0, "hello");
    b.insert(0, "world");
    await Promise.all(acks);
    a.insert(a.length, "!");
    b.delete(0, 1);
    b.insert(0, "W");
    a.insert(0, ">");
    await Promise.all(acks);
    assert.equal(text(clients[0]), text(clients[1]));
    assert.equal(text(loaded.doc), text(clients[0]));
    // Concurrent inserts at one position are ordered by client id: check content, not order.
    assert.match(text(loaded.doc), /^(>W|W>)(elloworld|orldhello)!$/);
    assert.ok((await Promise.all(acks)).every((seq) => seq > 0));
    docs.release(name);
  });
});

Deno.test("DocManager loses nothing across a restart", async () => {
  await withDocs({ compactAfterUpdates: 3 }, async (s) => {
    const client = new Y.Doc();
    client.on("update", (update: Uint8Array) => void s.docs.apply("a", update, "c"));
    client.getText("t").insert(0, "one two three");
    client.getText("t").delete(4, 4);
    client.getMap("m").set("k", 42);
    for (let i = 0; i < 5; i++) client.getText("t").insert(0, `${i}`);
    await deadline(s.spy.compacted.promise, 5_000, "a compaction");
    client.getText("t").insert(0, "last ");
    await s.restart();
    const loaded = await s.docs.open("a");
    assert.equal(text(loaded.doc), text(client));
    assert.equal(loaded.doc.getMap("m").get("k"), 42);
    assert.deepEqual(Y.encodeStateVector(loaded.doc), Y.encodeStateVector(client));
    s.docs.release("a");
  });
});

Deno.test("DocManager.open() during a slow load serves only the full stored state", async () => {
  await withDocs({}, async (s) => {
    const { update } = edit((t) => t.insert(0, "stored"));
    await s.docs.apply("slow", update, "c");
    await s.restart();
    const gate = Promise.withResolvers<void>();
    s.spy.loadGate = gate.promise;
    const settled: string[] = [];
    const opens = [1, 2, 3].map((i) =>
      s.docs.open("slow").then((d) => (settled.push(`open${i}`), d))
    );
    const more = edit((t) => t.insert(0, "more "));
    const applied = s.docs.apply("slow", more.update, "c").then((
      seq,
    ) => (settled.push("apply"), seq));
    for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(settled, [], "nothing is served before the stored state is applied");
    assert.equal(s.spy.loads, 1, "one load for every concurrent open");
    gate.resolve();
    const loaded = await Promise.all(opens);
    assert.ok(loaded.every((d) => d === loaded[0]), "every open gets the same document");
    assert.match(text(loaded[0].doc), /stored/);
    assert.ok((await applied) > 0);
    assert.match(text(loaded[0].doc), /more/);
    assert.match(text(loaded[0].doc), /stored/);
    for (let i = 0; i < 3; i++) s.docs.release("slow");
  });
});

Deno.test("DocManager.apply() rejects a garbage update with ERR_BAD_UPDATE, doc unchanged", async () => {
  await withDocs({}, async (s) => {
    const base = edit((t) => t.insert(0, "base"));
    const loaded = await s.docs.open("g");
    await s.docs.apply("g", base.update, "c");
    const resets: string[] = [];
    s.docs.onReset((doc) => resets.push(doc));
    for (const garbage of [[255, 255, 255, 255], [1, 2, 3], [...new TextEncoder().encode("hi")]]) {
      await rejectsWith(s.docs.apply("g", new Uint8Array(garbage), "c"), "ERR_BAD_UPDATE");
    }
    // Yjs integrates this one's insert, then fails on its truncated delete set.
    const evil = edit((t) => t.insert(4, "evil"), base.doc);
    const half = evil.update.subarray(0, evil.update.length - 1);
    const good = edit((t) => t.insert(0, "good "), base.doc);
    const queued = s.docs.apply("g", good.update, "c");
    const error = await rejectsWith(s.docs.apply("g", half, "c"), "ERR_BAD_UPDATE");
    assert.match(error.message, /^Update to "g" is not a valid Yjs update: /);
    assert.equal(text(loaded.doc), "good base", "the half-applied update left nothing");
    assert.ok((await queued) > 0, "an update queued in the same tick survives the rebuild");
    assert.deepEqual(resets, []);
    assert.equal(s.store.load("g").updates.length, 2);
    s.docs.release("g");
    await s.restart();
    assert.equal(text((await s.docs.open("g")).doc), "good base");
    s.docs.release("g");
  });
});

Deno.test("DocManager.apply() enforces the update and document size limits", async () => {
  const limits = { ...LIMITS, maxUpdateBytes: 200, maxDocBytes: 500 };
  await withDocs({ limits }, async (s) => {
    const big = edit((t) => t.insert(0, "x".repeat(300)));
    const error = await rejectsWith(s.docs.apply("d", big.update, "c"), "ERR_UPDATE_TOO_LARGE");
    assert.match(error.message, /the limit is 200 bytes/);
    const sizes: number[] = [];
    const results = await Promise.allSettled([0, 1, 2, 3].map((i) => {
      const { update } = edit((t) => t.insert(0, `${i}`.repeat(150)));
      sizes.push(update.length);
      return s.docs.apply("d", update, "c");
    }));
    const stored = results.filter((r) => r.status === "fulfilled").length;
    let expected = 0;
    let total = 0;
    for (const size of sizes) if (total + size <= 500) total += size, expected++;
    assert.equal(stored, expected, "pending updates count toward the limit");
    assert.ok(stored >= 2 && stored < 4);
    for (const r of results.filter((r) => r.status === "rejected")) {
      assert.equal((r.reason as SyncError).code, "ERR_DOC_TOO_LARGE");
    }
    assert.equal(s.store.load("d").updates.length, stored);
  });
});

Deno.test("DocManager.open() refuses past maxDocsLoaded and bad names", async () => {
  await withDocs({ limits: { ...LIMITS, maxDocsLoaded: 2 } }, async ({ docs }) => {
    await docs.open("a");
    await docs.open("b");
    const error = await rejectsWith(docs.open("c"), "ERR_SYNC_LIMIT");
    assert.match(error.message, /limit of 2 documents/);
    await rejectsWith(docs.apply("c", new Uint8Array([0, 0]), "x"), "ERR_SYNC_LIMIT");
    docs.release("a");
    await docs.open("c");
    assert.deepEqual(docs.docNames().sort(), ["b", "c"], "the idle document made room");
    for (const bad of ["", "a\u0000b", "line\nbreak", "\ud800", "é".repeat(257)]) {
      await rejectsWith(docs.open(bad), "ERR_BAD_DOC_NAME");
    }
    docs.release("b");
    await docs.open("é".repeat(256));
  });
});

Deno.test("DocManager.apply() of an update that changes nothing returns 0, stores nothing", async () => {
  await withDocs({}, async (s) => {
    const committed: CommittedUpdate[] = [];
    s.docs.onUpdate((c) => committed.push(c));
    const { update } = edit((t) => t.insert(0, "once"));
    assert.equal(await s.docs.apply("n", update, "c"), 1);
    assert.equal(await s.docs.apply("n", update, "c"), 0);
    assert.equal(await s.docs.apply("n", Y.encodeStateAsUpdate(new Y.Doc()), "c"), 0);
    assert.equal(s.store.lastSeq(), 1);
    assert.equal(committed.length, 1);
    assert.equal(s.docs.stats.updatesSkipped, 2);
  });
});

Deno.test("DocManager.apply() stores an update waiting for a missing dependency", async () => {
  await withDocs({}, async (s) => {
    const first = edit((t) => t.insert(0, "first"));
    const second = edit((t) => t.insert(5, " second"), first.doc);
    assert.ok(await s.docs.apply("p", second.update, "c") > 0);
    await s.restart();
    await s.docs.apply("p", first.update, "c");
    await s.restart();
    assert.equal(text((await s.docs.open("p")).doc), "first second");
    s.docs.release("p");
  });
});

Deno.test("DocManager group-commits the applies of one tick in one transaction", async () => {
  await withDocs({}, async (s) => {
    const seen: number[] = [];
    s.docs.onUpdate(({ doc, seq }) => {
      assert.ok(s.store.load(doc).updates.some((u) => u.seq === seq), "stored before broadcast");
      seen.push(seq);
    });
    for (let i = 0; i < 3; i++) await s.docs.open(`doc${i}`);
    const applies = Array.from({ length: 20 }, (_, i) => {
      const { update } = edit((t) => t.insert(0, `${i}`));
      return s.docs.apply(`doc${i % 3}`, update, i);
    });
    const seqs = await Promise.all(applies);
    assert.deepEqual(s.spy.appends, [20]);
    assert.equal(s.docs.stats.commits, 1);
    assert.deepEqual(seqs, Array.from({ length: 20 }, (_, i) => i + 1));
    assert.deepEqual(seen, seqs, "listeners are told in seq order");
    await s.docs.apply("doc0", edit((t) => t.insert(0, "later")).update, "c");
    assert.deepEqual(s.spy.appends, [20, 1]);
    assert.equal(s.docs.stats.updatesApplied, 21);
  });
});

Deno.test("DocManager compacts a long log and keeps the content", async () => {
  await withDocs({ compactAfterUpdates: 10 }, async (s) => {
    const client = new Y.Doc();
    const loaded = await s.docs.open("c");
    for (let i = 0; i < 15; i++) {
      const sv = Y.encodeStateVector(client);
      client.getText("t").insert(0, `${i},`);
      await s.docs.apply("c", Y.encodeStateAsUpdate(client, sv), "c");
    }
    await deadline(s.spy.compacted.promise, 5_000, "a compaction");
    const stored = s.store.load("c");
    assert.ok(stored.snapshot, "a snapshot replaces the log");
    assert.ok(stored.updates.length < 15);
    assert.equal(s.docs.stats.compactions, 1);
    assert.equal(loaded.bytes, stored.bytes);
    s.docs.release("c");
    await s.restart();
    assert.equal(text((await s.docs.open("c")).doc), text(client));
    s.docs.release("c");
  });
});

Deno.test("DocManager unloads a document after release and reloads it on open", async () => {
  await withDocs({ unloadAfterMs: 1_000 }, async ({ docs, timers, spy }) => {
    const first = await docs.open("u");
    await docs.apply("u", edit((t) => t.insert(0, "kept")).update, "c");
    let destroyed = false;
    first.awareness.on("destroy", () => (destroyed = true));
    docs.release("u");
    timers.advance(600);
    assert.equal(await docs.open("u"), first, "re-opening cancels the unload");
    docs.release("u");
    timers.advance(999);
    assert.deepEqual(docs.docNames(), ["u"]);
    timers.advance(1);
    assert.deepEqual(docs.docNames(), []);
    assert.ok(destroyed, "the awareness is destroyed");
    const second = await docs.open("u");
    assert.notEqual(second, first);
    assert.equal(text(second.doc), "kept");
    assert.equal(spy.loads, 2);
    docs.release("u");
  });
});

Deno.test("DocManager store failure rejects with ERR_UNAVAILABLE and resets the doc", async () => {
  await withDocs({}, async (s) => {
    const resets: string[] = [];
    const committed: number[] = [];
    s.docs.onReset((doc) => resets.push(doc));
    s.docs.onUpdate(({ seq }) => committed.push(seq));
    const loaded = await s.docs.open("f");
    const base = edit((t) => t.insert(0, "safe"));
    await s.docs.apply("f", base.update, "c");
    s.spy.failAppend = true;
    const lost = [" lost1", " lost2"].map((w) => edit((t) => t.insert(4, w), base.doc).update);
    const errors = await Promise.all(
      lost.map((u) => rejectsWith(s.docs.apply("f", u, "c"), "ERR_UNAVAILABLE")),
    );
    assert.match(errors[0].message, /disk I\/O error/);
    assert.deepEqual(resets, ["f"]);
    assert.deepEqual(committed, [1]);
    assert.deepEqual(s.docs.docNames(), []);
    s.spy.failAppend = false;
    const reloaded = await s.docs.open("f");
    assert.notEqual(reloaded, loaded);
    assert.equal(text(reloaded.doc), "safe", "the unacknowledged updates are gone");
    s.docs.release("f");
    s.docs.release("f");
    s.timers.advance(30_000);
    assert.deepEqual(s.docs.docNames(), [], "holds survive the reset, one release each");

    await s.docs.open("f");
    s.store.close();
    await rejectsWith(s.docs.apply("f", lost[0], "c"), "ERR_UNAVAILABLE");
    assert.deepEqual(resets, ["f", "f"]);
    await rejectsWith(s.docs.open("f"), "ERR_UNAVAILABLE");
  });
});

Deno.test("DocManager.close() commits pending updates, then refuses calls", async () => {
  await withDocs({}, async (s) => {
    await s.docs.open("z");
    const pending = s.docs.apply("z", edit((t) => t.insert(0, "late")).update, "c");
    const thrown: string[] = [];
    s.docs.onUpdate(() => {
      thrown.push("listener");
      throw new Error("listener bug");
    });
    await s.docs.close();
    assert.equal(await pending, 1);
    assert.deepEqual(thrown, ["listener"]);
    assert.equal(s.store.load("z").updates.length, 1);
    await rejectsWith(s.docs.open("z"), "ERR_UNAVAILABLE");
    await rejectsWith(s.docs.apply("z", new Uint8Array([0, 0]), "c"), "ERR_UNAVAILABLE");
  });
});
