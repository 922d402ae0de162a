import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type BatchClock,
  type ChangeBatch,
  ChangeBatcher,
  type ChangeBatcherOptions,
  type ChangeEvent,
  type ChangeKind,
} from "./change_batcher.ts";

/** A manual clock: time moves only when the test calls `advance`. */
class FakeClock implements BatchClock {
  time = 0;
  #timers = new Map<number, { at: number; callback: () => void }>();
  #nextId = 1;

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.time + ms, callback });
    return id;
  }

  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number);
  }

  get timerCount(): number {
    return this.#timers.size;
  }

  /** Moves time forward to `time + ms`, firing due timers in deadline order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
    }
    this.time = end;
  }
}

function setup(options: Partial<ChangeBatcherOptions> = {}) {
  const clock = new FakeClock();
  const batches: (ChangeBatch & { emittedAt: number })[] = [];
  const batcher = new ChangeBatcher({
    clock,
    onBatch: (batch) => batches.push({ ...batch, emittedAt: clock.now() }),
    ...options,
  });
  const push = (path: string, kind: ChangeKind = "modify") =>
    batcher.push({ path, kind, at: clock.now() });
  return { clock, batches, batcher, push };
}

Deno.test("ChangeBatcher emits one batch after 3 ms of quiet", () => {
  const { clock, batches, push } = setup();
  push("index.html");
  clock.advance(1);
  push("index.html", "rename");
  clock.advance(2);
  assert.equal(batches.length, 0);
  clock.advance(1);
  assert.deepEqual(batches, [
    { kind: "reload", paths: ["index.html"], firstAt: 0, lastAt: 1, emittedAt: 4 },
  ]);
});

Deno.test("ChangeBatcher waits longer while a file is removed, for the editor to write it back", () => {
  const { clock, batches, push } = setup();
  push("index.html", "remove");
  clock.advance(30);
  assert.equal(batches.length, 0, "no reload into a 404 between the delete and the write");
  push("index.html", "create");
  clock.advance(3);
  assert.deepEqual(batches.map((b) => [b.kind, b.paths, b.emittedAt]), [
    ["reload", ["index.html"], 33],
  ]);
  push("gone.html", "remove");
  clock.advance(59);
  assert.equal(batches.length, 1);
  clock.advance(1);
  assert.deepEqual(batches[1].paths, ["gone.html"], "a file that stays deleted still reloads");
});

Deno.test("ChangeBatcher sends css when only stylesheets changed", () => {
  const { clock, batches, push } = setup();
  push("a.css", "modify");
  clock.advance(2);
  push("sub/B.CSS", "create");
  clock.advance(2);
  push("a.css", "rename");
  clock.advance(10);
  assert.equal(batches.length, 1);
  assert.equal(batches[0].kind, "css");
  assert.deepEqual(batches[0].paths, ["a.css", "sub/B.CSS"]);
  assert.equal(batches[0].firstAt, 0);
  assert.equal(batches[0].lastAt, 4);
});

Deno.test("ChangeBatcher reloads when an HTML and a CSS save are 5 ms apart", () => {
  for (const order of [["style.css", "index.html"], ["index.html", "style.css"]]) {
    const { clock, batches, push } = setup();
    push(order[0]);
    clock.advance(5);
    push(order[1]);
    clock.advance(100);
    assert.ok(batches.some((b) => b.kind === "reload"), `${order}: the page reloads`);
    assert.deepEqual(batches.flatMap((b) => b.paths), order, "each save is announced");
  }
  const { clock, batches, push } = setup({ quietMs: 10 });
  push("style.css");
  clock.advance(5);
  push("index.html");
  clock.advance(100);
  assert.deepEqual(batches.map((b) => [b.kind, b.paths]), [
    ["reload", ["style.css", "index.html"]],
  ]);
});

Deno.test("ChangeBatcher reloads when a stylesheet is removed", () => {
  const { clock, batches, push } = setup();
  push("a.css", "modify");
  push("b.css", "remove");
  clock.advance(60);
  assert.equal(batches[0].kind, "reload");
});

Deno.test("ChangeBatcher reloads for the root path", () => {
  const { clock, batches, push } = setup();
  push("", "create");
  clock.advance(10);
  assert.deepEqual(batches.map((b) => [b.kind, b.paths]), [["reload", [""]]]);
});

Deno.test("ChangeBatcher flushes a continuous stream after maxWaitMs", () => {
  const { clock, batches, push } = setup({ quietMs: 10, maxWaitMs: 100 });
  for (let t = 0; t < 250; t += 5) {
    push(`f${t}.js`);
    clock.advance(5);
  }
  clock.advance(10);
  assert.deepEqual(batches.map((b) => b.emittedAt), [100, 200, 255]);
  assert.deepEqual(batches.map((b) => b.paths.length), [20, 20, 10]);
  assert.equal(batches.flatMap((b) => b.paths).length, 50);
});

Deno.test("ChangeBatcher puts an event pushed during onBatch into the next batch", () => {
  const clock = new FakeClock();
  const batches: ChangeBatch[] = [];
  const batcher = new ChangeBatcher({
    clock,
    onBatch(batch) {
      batches.push(batch);
      if (batches.length === 1) batcher.push({ path: "late.css", kind: "modify", at: clock.now() });
    },
  });
  batcher.push({ path: "index.html", kind: "modify", at: 0 });
  clock.advance(3);
  assert.deepEqual(batches.map((b) => [b.kind, b.paths]), [["reload", ["index.html"]]]);
  clock.advance(10);
  assert.deepEqual(batches.map((b) => [b.kind, b.paths]), [
    ["reload", ["index.html"]],
    ["css", ["late.css"]],
  ]);
});

Deno.test("ChangeBatcher.flush() emits at once and close() drops the rest", () => {
  const { clock, batches, batcher, push } = setup();
  push("a.js");
  batcher.flush();
  assert.equal(batches.length, 1);
  assert.equal(clock.timerCount, 0);
  batcher.flush();
  assert.equal(batches.length, 1);
  push("b.js");
  assert.equal(batcher.pending, true);
  batcher.close();
  assert.equal(clock.timerCount, 0);
  push("c.js");
  clock.advance(1000);
  assert.equal(batches.length, 1);
  assert.equal(batcher.pending, false);
});

Deno.test("ChangeBatcher works on the real timer", async () => {
  const done = Promise.withResolvers<ChangeBatch>();
  const batcher = new ChangeBatcher({ onBatch: done.resolve });
  batcher.push({ path: "x.css", kind: "modify", at: Date.now() });
  const batch = await done.promise;
  assert.equal(batch.kind, "css");
  batcher.close();
});

const arbitraryStep = fc.record({
  delay: fc.integer({ min: 0, max: 40 }),
  path: fc.constantFrom("a.css", "b.css", "dir/c.css", "index.html", "app.js", "logo.png", ""),
  kind: fc.constantFrom<ChangeKind>("create", "modify", "remove", "rename"),
});

Deno.test("ChangeBatcher property: every event is emitted once, in order, css only if all css", () => {
  fc.assert(
    fc.property(
      fc.array(arbitraryStep, { maxLength: 60 }),
      fc.integer({ min: 0, max: 20 }),
      fc.integer({ min: 0, max: 150 }),
      (steps, quietMs, maxWaitMs) => {
        const clock = new FakeClock();
        const emitted: { batch: ChangeBatch; at: number; events: ChangeEvent[] }[] = [];
        let open: ChangeEvent[] = [];
        const batcher = new ChangeBatcher({
          clock,
          quietMs,
          maxWaitMs,
          onBatch: (batch) => {
            emitted.push({ batch, at: clock.now(), events: open });
            open = [];
          },
        });
        const events: ChangeEvent[] = [];
        for (const step of steps) {
          clock.advance(step.delay);
          const event = { path: step.path, kind: step.kind, at: clock.now() };
          events.push(event);
          open.push(event);
          batcher.push(event);
        }
        clock.advance(Math.max(quietMs, maxWaitMs) + 1);
        assert.equal(batcher.pending, false);

        // Each event lands in exactly one batch, emitted at or after it, and no later than the
        // max wait after the first event of that batch.
        assert.deepEqual(emitted.flatMap((e) => e.events), events);
        for (const { batch, at, events: own } of emitted) {
          assert.ok(own.length > 0);
          assert.deepEqual(batch.paths, [...new Set(own.map((e) => e.path))]);
          for (const event of own) assert.ok(at >= event.at);
          assert.ok(at <= own[0].at + Math.max(quietMs, maxWaitMs));
          assert.equal(batch.firstAt, own[0].at);
          assert.equal(batch.lastAt, own[own.length - 1].at);
          const allCss = own.every((e) => e.kind !== "remove" && e.path.endsWith(".css"));
          assert.equal(batch.kind, allCss ? "css" : "reload");
        }
        for (let i = 1; i < emitted.length; i++) {
          assert.ok(emitted[i].at >= emitted[i - 1].at);
          assert.ok(emitted[i].batch.firstAt >= emitted[i - 1].batch.lastAt);
        }
      },
    ),
    { numRuns: 500 },
  );
});
