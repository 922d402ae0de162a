// The load generator of bench/fanout_bench.ts: ONE Node process with the `ws`
// package for every server, so no client library differs between them.
//
//   node load.mjs '<json options>'
//
// Options: { protocol: "switchyard" | "socketio" | "bare", port, subscribers,
//   batch, paced: { messages, intervalMs }, burst: { messages } | null, timeoutMs }
//
// Talks JSON lines on stdout: {"event":"subscribed",...} once every subscriber
// is connected and subscribed, then it waits for a line "go" on stdin, runs the
// paced phase and the burst phase, prints {"event":"result",...} and exits.
// Publisher and subscribers live in this process, so send and receive times
// come from one clock (performance.timeOrigin + performance.now()).

import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { PROTOCOLS } from "./load_protocols.mjs";

// require() rather than import: `deno check bench/` then leaves Node's packages alone.
const WebSocket = createRequire(import.meta.url)("ws");
const opts = JSON.parse(process.argv[2]);
const proto = PROTOCOLS[opts.protocol];
const url = `ws://127.0.0.1:${opts.port}${proto.path}`;
const channel = "bench";
const now = () => performance.timeOrigin + performance.now();
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
const sockets = [];
let closing = false;
let unexpectedCloses = 0;

/** Deliveries of the current phase. */
const phase = { lat: new Float64Array(0), count: 0, last: 0, done: null, expected: 0 };

function deliver(data) {
  const t = now();
  if (phase.count < phase.lat.length) phase.lat[phase.count] = t - data.t;
  phase.count += 1;
  phase.last = t;
  if (phase.count === phase.expected) phase.done?.();
}

/** Open one socket and run `proto[role]` on it until it calls `ready`. */
function open(role) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const conn = {
      ws,
      send: (text) => ws.send(text),
      ready: () => resolve(conn),
      fail: (why) => reject(new Error(`${role}: ${why}`)),
      deliver,
    };
    const handler = proto[role](conn, channel);
    ws.on("open", () => handler.open());
    ws.on("message", (buf) => handler.message(buf.toString()));
    ws.on("error", (err) => conn.fail(err.message));
    ws.on("close", (code) => {
      if (!closing) unexpectedCloses += 1;
      conn.fail(`closed with ${code}`);
    });
    sockets.push(ws);
  });
}

async function openSubscribers(n, batch) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next += 1;
      await open("subscriber");
    }
  };
  await Promise.all(Array.from({ length: Math.min(batch, n) }, worker));
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function startPhase(expected) {
  phase.lat = new Float64Array(expected);
  phase.count = 0;
  phase.last = 0;
  phase.expected = expected;
  return new Promise((resolve) => (phase.done = resolve));
}

function summarize(firstSend, expected, acked) {
  const n = Math.min(phase.count, phase.lat.length);
  const lat = phase.lat.subarray(0, n).sort();
  const pct = (p) => (n ? lat[Math.min(n - 1, Math.floor((p / 100) * n))] : NaN);
  const seconds = (phase.last - firstSend) / 1000;
  return {
    expected,
    delivered: phase.count,
    acked,
    p50Ms: pct(50),
    p99Ms: pct(99),
    maxMs: n ? lat[n - 1] : NaN,
    deliveriesPerSec: seconds > 0 ? phase.count / seconds : NaN,
  };
}

const payload = (i) => ({ t: now(), i, s: "switchyard-bench-payload-0123456789abcdef" });

async function paced(pub, n, { messages, intervalMs }) {
  const expected = messages * n;
  const all = startPhase(expected);
  const firstSend = now();
  const acks = [];
  for (let i = 0; i < messages; i++) {
    const due = firstSend + i * intervalMs - now();
    if (due > 0) await new Promise((r) => setTimeout(r, due));
    acks.push(pub.publish(payload(i)));
  }
  await withTimeout(all, opts.timeoutMs, `${expected} paced deliveries`).catch(() => {});
  const acked = (await Promise.allSettled(acks)).filter((r) => r.status === "fulfilled").length;
  return summarize(firstSend, expected, acked);
}

async function burst(pub, n, { messages }) {
  const expected = messages * n;
  const all = startPhase(expected);
  const firstSend = now();
  let acked = 0;
  const loop = async () => {
    for (let i = 0; i < messages; i++) {
      await pub.publish(payload(i));
      acked += 1;
    }
  };
  await withTimeout(Promise.all([loop(), all]), opts.timeoutMs, `${expected} burst deliveries`)
    .catch(() => {});
  return summarize(firstSend, expected, acked);
}

const goLine = new Promise((resolve) => {
  createInterface({ input: process.stdin }).on("line", (line) => {
    if (line.trim() === "go") resolve();
  });
});

try {
  const t0 = now();
  await withTimeout(
    openSubscribers(opts.subscribers, opts.batch),
    opts.timeoutMs * 4,
    `${opts.subscribers} subscribers`,
  );
  emit({ event: "subscribed", subscribers: opts.subscribers, ms: now() - t0 });
  await goLine;
  const pub = await withTimeout(open("publisher"), 10_000, "publisher");
  // Let the publisher's own handshake settle before the clock starts.
  await new Promise((r) => setTimeout(r, 200));
  const result = { event: "result" };
  // Warm up the JIT of both ends with a few unmeasured broadcasts.
  await paced(pub, opts.subscribers, {
    messages: 10,
    intervalMs: Math.min(100, opts.paced.intervalMs),
  });
  result.paced = await paced(pub, opts.subscribers, opts.paced);
  if (opts.burst) result.burst = await burst(pub, opts.subscribers, opts.burst);
  result.unexpectedCloses = unexpectedCloses;
  emit(result);
} catch (err) {
  emit({ event: "error", message: String(err?.message ?? err) });
  process.exitCode = 1;
} finally {
  closing = true;
  for (const ws of sockets) ws.terminate();
  setTimeout(() => process.exit(), 100);
}
