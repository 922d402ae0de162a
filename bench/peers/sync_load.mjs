// The load generator of bench/sync_bench.ts: D documents × 2 stock clients
// (each with its own Y.Doc and its own WebSocket) against one server.
//
//   node sync_load.mjs '<json options>'
//
// Options: { client: "y-websocket" | "hocuspocus", url, docs, prefix, batch, timeoutMs }
//   y-websocket: `WebsocketProvider(url, room)` (the stock y-websocket@3 client, `ws`
//   underneath, BroadcastChannel off: both clients of a document live in this process);
//   hocuspocus: `HocuspocusProvider({ url, name })` (@hocuspocus/provider, one socket each).
//
// Talks JSON lines: prints {"event":"ready",...} once every client is synced, then
// reads commands on stdin, one JSON object a line:
//   {"cmd":"run","updates":N,"perSec":R}: N edits at R per second, round-robin over
//     the documents; client A sets `map.set("t", seq)`, client B's observer takes the
//     time; prints {"event":"done","samples":[ms…],"missed":k,"offeredPerSec":…}
//   {"cmd":"quit"}: destroys the providers and exits.
// Send and receive times come from one clock (performance.now() of this process).

import { createRequire } from "node:module";
import { createInterface } from "node:readline";

// require() rather than import: `deno check bench/` then leaves Node's packages alone.
const require = createRequire(import.meta.url);
const Y = require("yjs");
const WebSocket = require("ws");

const opts = JSON.parse(process.argv[2]);
// y-websocket adds a process "exit" listener per provider.
process.setMaxListeners(0);
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
/** An edit not seen by client B within this long is counted as missed. */
const SEEN_DEADLINE_MS = 5_000;

/** seq → send time, of edits not seen yet. */
const inflight = new Map();
let samples = [];
let seen = 0;
let closing = false;
let disconnects = 0;

/** One stock client of `room`: resolves once it has synced with the server. */
function connect(room) {
  const doc = new Y.Doc();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${room}: not synced after ${opts.timeoutMs} ms`)),
      opts.timeoutMs,
    );
    const done = (provider) => {
      clearTimeout(timer);
      resolve({ doc, map: doc.getMap("bench"), provider });
    };
    const lost = () => {
      if (!closing) disconnects += 1;
    };
    if (opts.client === "y-websocket") {
      const { WebsocketProvider } = require("y-websocket");
      const provider = new WebsocketProvider(opts.url, room, doc, {
        WebSocketPolyfill: WebSocket,
        disableBc: true,
      });
      provider.on("sync", (synced) => synced && done(provider));
      provider.on("status", ({ status }) => status === "disconnected" && lost());
    } else {
      const { HocuspocusProvider } = require("@hocuspocus/provider");
      const provider = new HocuspocusProvider({
        url: opts.url,
        name: room,
        document: doc,
        WebSocketPolyfill: WebSocket,
        onSynced: ({ state }) => state && done(provider),
        onDisconnect: lost,
      });
    }
  });
}

async function connectAll() {
  const pairs = new Array(opts.docs);
  let next = 0;
  const worker = async () => {
    while (next < opts.docs) {
      const i = next++;
      const room = `${opts.prefix}-${i}`;
      const [a, b] = await Promise.all([connect(room), connect(room)]);
      b.map.observe((event) => {
        if (!event.keysChanged.has("t")) return;
        const seq = b.map.get("t");
        const t0 = inflight.get(seq);
        if (t0 === undefined) return;
        inflight.delete(seq);
        samples.push(performance.now() - t0);
        seen += 1;
      });
      pairs[i] = { a, b };
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.batch, opts.docs) }, worker));
  return pairs;
}

let seq = 0;

/** `updates` edits at `perSec`, round-robin over the documents; resolves once all are seen. */
function run(pairs, updates, perSec) {
  samples = [];
  seen = 0;
  inflight.clear();
  const interval = 1000 / perSec;
  const start = performance.now();
  let sent = 0;
  return new Promise((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearInterval(poll);
      const missed = inflight.size;
      inflight.clear();
      resolve({
        samples,
        missed,
        offeredPerSec: sent / ((lastSend - start) / 1000 || 1),
      });
    };
    let lastSend = start;
    let deadline = Infinity;
    const poll = setInterval(() => {
      if (sent === updates && (seen === updates || performance.now() > deadline)) finish();
    }, 5);
    const tick = () => {
      const due = Math.min(updates, Math.floor((performance.now() - start) / interval) + 1);
      while (sent < due) {
        const { a } = pairs[seq % pairs.length];
        const s = ++seq;
        lastSend = performance.now();
        inflight.set(s, lastSend);
        a.map.set("t", s);
        sent += 1;
      }
      if (sent < updates) {
        setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      } else {
        deadline = performance.now() + SEEN_DEADLINE_MS;
      }
    };
    tick();
  });
}

async function main() {
  const t0 = performance.now();
  const pairs = await connectAll();
  emit({ event: "ready", connectMs: performance.now() - t0 });
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const cmd = JSON.parse(line);
    if (cmd.cmd === "run") {
      const result = await run(pairs, cmd.updates, cmd.perSec);
      emit({ event: "done", ...result, disconnects });
    } else if (cmd.cmd === "quit") {
      break;
    }
  }
  closing = true;
  for (const { a, b } of pairs) {
    a.provider.destroy();
    b.provider.destroy();
  }
  process.exit(0);
}

main().catch((err) => {
  emit({ event: "error", message: err?.stack ?? String(err) });
  process.exit(1);
});
