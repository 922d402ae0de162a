import assert from "node:assert/strict";
import { PostBatcher } from "./post_batcher.ts";
import { waitFor } from "../_test_util.ts";

/** A fetch whose responses the test releases one by one. */
function gatedFetch(status = 204) {
  const bodies: string[] = [];
  const gates: (() => void)[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetch = (async (_url: string | URL | Request, init?: RequestInit) => {
    bodies.push(String(init?.body));
    assert.equal(new Headers(init?.headers).get("content-type"), "text/plain");
    assert.equal(init?.method, "POST");
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise<void>((r) => gates.push(r));
    inFlight -= 1;
    return new Response(status === 204 ? null : "gone", { status });
  }) as typeof globalThis.fetch;
  return { fetch, bodies, gates, maxInFlight: () => maxInFlight };
}

Deno.test("PostBatcher.send() batches frames of one tick into one POST, one line each", async () => {
  const f = gatedFetch();
  const out = new PostBatcher({
    url: "http://x/sse/c1",
    fetch: f.fetch,
    onError: () => assert.fail(),
  });
  out.send("a");
  out.send("b");
  out.send("c");
  await waitFor(() => f.bodies.length === 1, "a POST");
  assert.deepEqual(f.bodies, ["a\nb\nc"]);
  f.gates.shift()!();
  await out.drain();
});

Deno.test("PostBatcher keeps one POST in flight and sends the rest after it, in order", async () => {
  const f = gatedFetch();
  const out = new PostBatcher({
    url: "http://x/sse/c1",
    fetch: f.fetch,
    onError: () => assert.fail(),
  });
  out.send("1");
  await waitFor(() => f.bodies.length === 1, "the first POST");
  out.send("2");
  await Promise.resolve();
  out.send("3");
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(f.bodies, ["1"], "nothing else while one is in flight");
  f.gates.shift()!();
  await waitFor(() => f.bodies.length === 2, "the second POST");
  assert.deepEqual(f.bodies, ["1", "2\n3"]);
  f.gates.shift()!();
  await out.drain();
  assert.equal(f.maxInFlight(), 1);
});

Deno.test("PostBatcher reports a refused POST once and stops", async () => {
  const f = gatedFetch(404);
  const errors: number[] = [];
  const out = new PostBatcher({
    url: "http://x/sse/c1",
    fetch: f.fetch,
    onError: (status) => errors.push(status),
  });
  out.send("1");
  await waitFor(() => f.bodies.length === 1, "a POST");
  out.send("2");
  f.gates.shift()!();
  await waitFor(() => errors.length === 1, "the error");
  assert.deepEqual(errors, [404]);
  out.send("3");
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(f.bodies, ["1"]);
});

Deno.test("PostBatcher reports a network failure as status 0", async () => {
  const errors: [number, string][] = [];
  const out = new PostBatcher({
    url: "http://x/sse/c1",
    fetch: () => Promise.reject(new TypeError("connection refused")),
    onError: (status, message) => errors.push([status, message]),
  });
  out.send("1");
  await waitFor(() => errors.length === 1, "the error");
  assert.deepEqual(errors, [[0, "connection refused"]]);
});

Deno.test("PostBatcher splits a burst into POSTs of at most maxBodyBytes, in order", async () => {
  const f = gatedFetch();
  const out = new PostBatcher({
    url: "http://x/sse/c1",
    fetch: f.fetch,
    maxBodyBytes: 10,
    onError: () => assert.fail(),
  });
  for (const frame of ["aaaa", "bbbb", "cccc", "dddddddddddddddd", "e"]) out.send(frame);
  for (let i = 1; i <= 3; i++) {
    await waitFor(() => f.bodies.length === i, `POST ${i}`);
    f.gates.shift()!();
  }
  await waitFor(() => f.bodies.length === 4, "POST 4");
  f.gates.shift()!();
  await out.drain();
  assert.deepEqual(f.bodies, ["aaaa\nbbbb", "cccc", "dddddddddddddddd", "e"]);
  assert.ok(f.bodies.every((b) => b.length <= 10 || !b.includes("\n")));
});
