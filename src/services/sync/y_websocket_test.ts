import assert from "node:assert/strict";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import type { Logger } from "../../core/mod.ts";
import { MemoryDocs } from "./_memory_docs_test_util.ts";
import {
  createYWebsocketHandler,
  READ_ONLY_REASON,
  Y_CLOSE,
  yjsRoom,
  type YWebsocketOptions,
} from "./y_websocket.ts";
import type { DocAccess } from "./types.ts";

const MAX_UPDATE_BYTES = 4096;
const DEADLINE_MS = 5000;

const TOKENS: Record<string, Record<string, unknown>> = {
  writer: { sub: "writer", docs: { "*": "rw" } },
  reader: { sub: "reader", docs: { "*": "r" } },
  outsider: { sub: "outsider", docs: { "elsewhere/*": "rw" } },
};

/** Resolves once `pred()` holds; rejects after `ms`. Polls every few ms. */
async function waitFor(pred: () => boolean, ms = DEADLINE_MS, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The type byte of a y-websocket frame, and its decoder positioned after it. */
function open(frame: Uint8Array): [number, decoding.Decoder] {
  const decoder = decoding.createDecoder(frame);
  return [decoding.readVarUint(decoder), decoder];
}

function authReasons(frames: Uint8Array[]): string[] {
  return frames.flatMap((frame) => {
    const [type, decoder] = open(frame);
    if (type !== 2 || decoding.readVarUint(decoder) !== 0) return [];
    return [decoding.readVarString(decoder)];
  });
}

function awarenessStates(frames: Uint8Array[]): { client: number; state: unknown }[] {
  return frames.flatMap((frame) => {
    const [type, decoder] = open(frame);
    if (type !== 1) return [];
    const update = decoding.createDecoder(decoding.readVarUint8Array(decoder));
    const count = decoding.readVarUint(update);
    return Array.from({ length: count }, () => {
      const client = decoding.readVarUint(update);
      decoding.readVarUint(update);
      return { client, state: JSON.parse(decoding.readVarString(update)) };
    });
  });
}

/** How many sync `update` messages (not step 2) are in `frames`. */
function updateFrames(frames: Uint8Array[]): number {
  return frames.filter((frame) => {
    const [type, decoder] = open(frame);
    return type === 0 && decoding.readVarUint(decoder) === 2;
  }).length;
}

function syncFrame(step: number, payload: Uint8Array): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 0);
  encoding.writeVarUint(encoder, step);
  encoding.writeVarUint8Array(encoder, payload);
  return encoding.toUint8Array(encoder);
}

function awarenessFrame(client: number, clock: number, state: unknown): Uint8Array {
  const update = encoding.createEncoder();
  encoding.writeVarUint(update, 1);
  encoding.writeVarUint(update, client);
  encoding.writeVarUint(update, clock);
  encoding.writeVarString(update, JSON.stringify(state));
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, 1);
  encoding.writeVarUint8Array(encoder, encoding.toUint8Array(update));
  return encoding.toUint8Array(encoder);
}

function textUpdate(text: string): Uint8Array {
  const doc = new Y.Doc();
  doc.getText("t").insert(0, text);
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

interface Peer {
  provider: WebsocketProvider;
  /** Every frame the server sent, over every connection of the provider. */
  frames: Uint8Array[];
  closes: CloseEvent[];
  text(): string;
}

interface Raw {
  ws: WebSocket;
  frames: Uint8Array[];
  closed: Promise<CloseEvent>;
  /** The close event, once the socket closed. */
  closeEvent?: CloseEvent;
}

type Authenticate = YWebsocketOptions["authenticate"];

const byTable: Authenticate = (token) => {
  if (token === undefined) return Promise.resolve({});
  const claims = TOKENS[token];
  return claims
    ? Promise.resolve({ claims })
    : Promise.reject(new Error("Invalid token: signature does not verify"));
};

function startServer(options: { anonymous?: DocAccess; authenticate?: Authenticate } = {}) {
  const docs = new MemoryDocs();
  const errors: string[] = [];
  const log: Logger = {
    debug() {},
    info() {},
    warn() {},
    error: (msg, fields) => errors.push(`${msg} ${JSON.stringify(fields)}`),
  };
  const handler = createYWebsocketHandler({
    docs,
    authenticate: options.authenticate ?? byTable,
    anonymous: options.anonymous ?? "none",
    maxUpdateBytes: MAX_UPDATE_BYTES,
    log,
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const room = yjsRoom(new URL(req.url).pathname);
    return room === null ? new Response("Not found", { status: 404 }) : handler(req, room);
  });
  const base = `ws://127.0.0.1:${server.addr.port}/yjs`;
  const peers: Peer[] = [];
  const raws: Raw[] = [];

  return {
    docs,
    base,
    peer(room: string, token?: string): Peer {
      const doc = new Y.Doc();
      const provider = new WebsocketProvider(base, room, doc, {
        WebSocketPolyfill: WebSocket,
        params: token === undefined ? {} : { token },
        // Peers in one process would otherwise also sync over BroadcastChannel, not the server.
        disableBc: true,
        // Reconnects after a close happen on the next tick: no timer outlives destroy().
        maxBackoffTime: 0,
      });
      const peer: Peer = {
        provider,
        frames: [],
        closes: [],
        text: () => doc.getText("t").toString(),
      };
      provider.on("status", ({ status }) => {
        if (status !== "connected") return;
        provider.ws!.addEventListener("message", (event) => {
          peer.frames.push(new Uint8Array(event.data as ArrayBuffer));
        });
      });
      provider.on("connection-close", (event) => {
        if (event) peer.closes.push(event);
      });
      peers.push(peer);
      return peer;
    },
    raw(room: string, token?: string): Raw {
      const ws = new WebSocket(`${base}/${room}${token ? `?token=${token}` : ""}`);
      ws.binaryType = "arraybuffer";
      const frames: Uint8Array[] = [];
      ws.onmessage = (event) => frames.push(new Uint8Array(event.data));
      const raw: Raw = {
        ws,
        frames,
        closed: new Promise<CloseEvent>((resolve) =>
          ws.onclose = (event) => {
            raw.closeEvent = event;
            resolve(event);
          }
        ),
      };
      raws.push(raw);
      return raw;
    },
    async [Symbol.asyncDispose]() {
      const closing: Promise<unknown>[] = [];
      for (const { provider } of peers) {
        const ws = provider.ws;
        if (ws && ws.readyState !== WebSocket.CLOSED) {
          closing.push(new Promise((resolve) => ws.addEventListener("close", resolve)));
        }
        provider.destroy();
        provider.awareness.destroy();
        provider.doc.destroy();
      }
      for (const { ws, closed } of raws) {
        if (ws.readyState !== WebSocket.CLOSED) ws.close();
        closing.push(closed);
      }
      await Promise.all(closing);
      // destroy() schedules a (no-op) reconnect with the 0 ms backoff: let it run.
      await new Promise((resolve) => setTimeout(resolve, 0));
      handler.close();
      await server.shutdown();
      docs.close();
      assert.deepEqual(errors, [], "no errors logged");
    },
  };
}

async function closeOf(raw: Raw, what = "close"): Promise<CloseEvent> {
  await waitFor(() => raw.closeEvent !== undefined, DEADLINE_MS, what);
  return raw.closeEvent!;
}

const synced = (peer: Peer, what = "sync") =>
  waitFor(() => peer.provider.synced, DEADLINE_MS, what);

/**
 * Proves the server handled every frame `peer` sent so far: frames of one connection are handled
 * in order, and an awareness change comes back to its sender.
 */
async function roundTrip(peer: Peer): Promise<void> {
  const nonce = crypto.randomUUID();
  peer.provider.awareness.setLocalStateField("nonce", nonce);
  const me = peer.provider.doc.clientID;
  await waitFor(
    () =>
      awarenessStates(peer.frames).some((s) =>
        s.client === me && (s.state as { nonce?: string } | null)?.nonce === nonce
      ),
    DEADLINE_MS,
    "awareness echo",
  );
}

Deno.test("y-websocket: two stock clients converge through the durable path", async () => {
  await using server = startServer();
  const a = server.peer("notes/a", "writer");
  const b = server.peer("notes/a", "writer");
  await synced(a);
  await synced(b);
  a.provider.doc.getText("t").insert(0, "hello ");
  await waitFor(() => b.text() === "hello ", DEADLINE_MS, "first edit at b");
  await roundTrip(a);
  assert.equal(updateFrames(a.frames), 0, "no echo of a's own update");
  b.provider.doc.getText("t").insert(0, "world ");
  await waitFor(() => a.text().length === 12 && a.text() === b.text(), DEADLINE_MS, "converge");
  assert.equal(server.docs.doc("notes/a")!.getText("t").toString(), a.text());
});

Deno.test("y-websocket: a late client gets the full state, room names may have / and spaces", async () => {
  await using server = startServer();
  const room = "team/plan b";
  const a = server.peer(room, "writer");
  await synced(a);
  const text = a.provider.doc.getText("t");
  text.insert(0, "abcdef");
  text.delete(1, 2);
  await waitFor(() => server.docs.doc(room)?.getText("t").toString() === "adef");
  const late = server.peer(room, "writer");
  await synced(late, "late sync");
  assert.equal(late.text(), "adef");
  assert.equal(server.docs.doc("team/plan%20b"), undefined);
});

Deno.test("y-websocket: awareness reaches the others and echoes to the sender", async () => {
  await using server = startServer();
  const a = server.peer("aw", "writer");
  const b = server.peer("aw", "writer");
  await synced(a);
  await synced(b);
  a.provider.awareness.setLocalStateField("user", { name: "Ada" });
  const ada = a.provider.doc.clientID;
  await waitFor(() =>
    (b.provider.awareness.getStates().get(ada) as { user?: { name: string } })?.user?.name ===
      "Ada"
  );
  await waitFor(
    () => awarenessStates(a.frames).some((s) => s.client === ada && s.state !== null),
    DEADLINE_MS,
    "echo to the sender",
  );
  // A third client gets the current states when it connects.
  const c = server.peer("aw", "writer");
  await waitFor(() => c.provider.awareness.getStates().has(ada), DEADLINE_MS, "states on open");
});

Deno.test("y-websocket: a closed connection's awareness states are removed for the others", async () => {
  await using server = startServer();
  const b = server.peer("aw2", "writer");
  await synced(b);
  const ghost = server.raw("aw2", "writer");
  await waitFor(() => ghost.frames.length > 0, DEADLINE_MS, "step 1");
  ghost.ws.send(awarenessFrame(4242, 1, { user: "ghost" }));
  await waitFor(() => b.provider.awareness.getStates().has(4242), DEADLINE_MS, "ghost state");
  ghost.ws.close(1000);
  await closeOf(ghost);
  await waitFor(() => !b.provider.awareness.getStates().has(4242), DEADLINE_MS, "removal");
});

Deno.test("y-websocket: a read-only client's edits reach nobody and it is told once", async () => {
  await using server = startServer();
  const w = server.peer("ro", "writer");
  await synced(w);
  // Deletions make every step 2 carry a delete set: a read-only client's step 2 on connect
  // is still no write and must not earn it a warning.
  w.provider.doc.getText("t").insert(0, "shared text");
  w.provider.doc.getText("t").delete(0, 7);
  await waitFor(() => server.docs.doc("ro")?.getText("t").toString() === "text");
  const r = server.peer("ro", "reader");
  await synced(r, "reader sync");
  assert.equal(r.text(), "text");
  await roundTrip(r);
  assert.deepEqual(authReasons(r.frames), []);

  // The stock client reports a permission-denied message with console.warn.
  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    r.provider.doc.getText("t").insert(0, "evil ");
    await roundTrip(r);
    assert.deepEqual(authReasons(r.frames), [READ_ONLY_REASON]);
    r.provider.doc.getText("t").insert(0, "more ");
    await roundTrip(r);
    assert.deepEqual(authReasons(r.frames), [READ_ONLY_REASON], "told only once");
  } finally {
    console.warn = warn;
  }
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0],
    /^Permission denied to access .*\/yjs\/ro\?token=reader\.\nread-only document$/,
  );

  // The writer's next edit arrives after anything the server would have sent for the reader's.
  w.provider.doc.getText("t").insert(4, "!");
  await waitFor(() => r.text().includes("!"), DEADLINE_MS, "writer's edit at the reader");
  assert.equal(w.text(), "text!");
  assert.equal(server.docs.doc("ro")!.getText("t").toString(), "text!");
  // The reader keeps receiving updates, and is still connected.
  assert.equal(r.closes.length, 0);
});

Deno.test("y-websocket: a bad token closes with 4401 and the stock client stops", async () => {
  await using server = startServer();
  const p = server.peer("doc", "forged");
  await waitFor(() => p.closes.length > 0, DEADLINE_MS, "close");
  assert.equal(p.closes[0].code, Y_CLOSE.unauthorized);
  assert.match(p.closes[0].reason, /^Invalid token/);
  assert.equal(p.provider.shouldConnect, false);
  assert.equal(server.docs.doc("doc"), undefined);
});

Deno.test("y-websocket: no access closes with 4403 (a token without a grant, anonymous)", async () => {
  await using server = startServer({ anonymous: "none" });
  const outsider = server.peer("doc", "outsider");
  const anonymous = server.peer("doc");
  await waitFor(() => outsider.closes.length > 0 && anonymous.closes.length > 0);
  for (const peer of [outsider, anonymous]) {
    assert.equal(peer.closes[0].code, Y_CLOSE.forbidden);
    assert.match(peer.closes[0].reason, /^No access to document "doc"/);
  }
});

Deno.test("y-websocket: anonymous clients get sync.anonymous", async () => {
  await using server = startServer({ anonymous: "rw" });
  const p = server.peer("open-doc");
  await synced(p);
  p.provider.doc.getText("t").insert(0, "hi");
  await waitFor(() => server.docs.doc("open-doc")?.getText("t").toString() === "hi");
});

Deno.test("y-websocket: a malformed frame closes with 1003 and applies nothing", async () => {
  await using server = startServer();
  const w = server.peer("m", "writer");
  await synced(w);
  w.provider.doc.getText("t").insert(0, "kept");
  await waitFor(() => server.docs.doc("m")?.getText("t").toString() === "kept");
  const before = Y.encodeStateAsUpdate(server.docs.doc("m")!);
  const valid = syncFrame(2, textUpdate("sneaky"));
  const cases: [string, Uint8Array | string][] = [
    ["truncated", valid.subarray(0, valid.length - 3)],
    ["trailing bytes", Uint8Array.of(...valid, 0)],
    ["unknown message type", Uint8Array.of(9)],
    ["unknown sync step", syncFrame(7, new Uint8Array(0))],
    ["not a Yjs update", syncFrame(2, Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 1))],
    ["bad awareness JSON", Uint8Array.of(1, 6, 1, 1, 1, 2, 0x7b, 0x7b)],
    ["text frame", "hello"],
  ];
  for (const [what, frame] of cases) {
    const raw = server.raw("m", "writer");
    await waitFor(() => raw.frames.length > 0, DEADLINE_MS, `${what}: step 1`);
    raw.ws.send(frame);
    const event = await closeOf(raw, what);
    assert.equal(event.code, Y_CLOSE.unsupportedData, what);
    assert.ok(event.reason.length > 0, what);
  }
  assert.deepEqual(Y.encodeStateAsUpdate(server.docs.doc("m")!), before);
  assert.equal(w.text(), "kept");
});

Deno.test("y-websocket: a frame over max_update_bytes closes with 1009", async () => {
  await using server = startServer();
  const raw = server.raw("big", "writer");
  await waitFor(() => raw.frames.length > 0, DEADLINE_MS, "step 1");
  raw.ws.send(syncFrame(2, textUpdate("x".repeat(MAX_UPDATE_BYTES + 100))));
  const event = await closeOf(raw);
  assert.equal(event.code, Y_CLOSE.tooBig);
  assert.match(event.reason, /over sync\.max_update_bytes \(4096\)/);
  assert.equal(server.docs.doc("big")!.getText("t").toString(), "");
});

Deno.test("y-websocket: frames sent before the document is open are handled in order", async () => {
  await using server = startServer();
  const resume = server.docs.pauseOpens();
  const raw = server.raw("early", "writer");
  raw.ws.onopen = () => {
    raw.ws.send(syncFrame(2, textUpdate("early")));
    raw.ws.send(syncFrame(0, Y.encodeStateVector(new Y.Doc())));
  };
  await waitFor(() => server.docs.opening === 1 && raw.ws.bufferedAmount === 0, DEADLINE_MS);
  assert.deepEqual(raw.frames, [], "nothing sent before the document is open");
  resume();
  await waitFor(() => raw.frames.length >= 2, DEADLINE_MS, "step 1 and step 2");
  const [type1, first] = open(raw.frames[0]);
  assert.deepEqual([type1, decoding.readVarUint(first)], [0, 0], "server step 1 first");
  const [type2, second] = open(raw.frames[1]);
  assert.deepEqual([type2, decoding.readVarUint(second)], [0, 1], "then step 2");
  const doc = new Y.Doc();
  Y.applyUpdate(doc, decoding.readVarUint8Array(second));
  assert.equal(doc.getText("t").toString(), "early", "step 2 includes the earlier update");
  doc.destroy();
});

Deno.test("y-websocket: the room's document is held until its last socket closes", async () => {
  await using server = startServer();
  const a = server.peer("held", "writer");
  const b = server.peer("held", "writer");
  await synced(a);
  await synced(b);
  assert.equal(server.docs.holds("held"), 1);
  a.provider.disconnect();
  await roundTrip(b);
  assert.equal(server.docs.holds("held"), 1);
  b.provider.disconnect();
  await waitFor(() => server.docs.holds("held") === 0, DEADLINE_MS, "release");
});

Deno.test("y-websocket: a manager reset closes the room with 4500 and clients resync", async () => {
  await using server = startServer();
  const a = server.peer("reset", "writer");
  await synced(a);
  a.provider.doc.getText("t").insert(0, "before");
  await waitFor(() => server.docs.doc("reset")?.getText("t").toString() === "before");
  server.docs.reset("reset");
  await waitFor(() => a.closes.length > 0, DEADLINE_MS, "close");
  assert.equal(a.closes[0].code, Y_CLOSE.resync);
  await synced(a, "resync");
  a.provider.doc.getText("t").insert(6, " after");
  await waitFor(() => server.docs.doc("reset")?.getText("t").toString() === "before after");
  assert.equal(server.docs.holds("reset"), 1);
});

Deno.test("y-websocket: a socket that closes while its token is checked opens nothing", async () => {
  let resolveAuth!: () => void;
  const checked = new Promise<void>((resolve) => resolveAuth = resolve);
  await using server = startServer({
    authenticate: async (token) => {
      await checked;
      return byTable(token);
    },
  });
  const raw = server.raw("closed-early", "writer");
  await waitFor(() => raw.ws.readyState === WebSocket.OPEN, DEADLINE_MS, "open");
  raw.ws.close(1000);
  await closeOf(raw);
  resolveAuth();
  // A late client of the same room goes through the whole handshake after the first one's.
  const late = server.raw("closed-early", "writer");
  await waitFor(() => late.frames.length > 0, DEADLINE_MS, "late step 1");
  late.ws.close(1000);
  await closeOf(late);
  await waitFor(() => server.docs.holds("closed-early") === 0, DEADLINE_MS, "release");
});

Deno.test("y-websocket: a plain GET gets 426", async () => {
  await using server = startServer();
  const res = await fetch(server.base.replace("ws:", "http:") + "/doc");
  await res.body?.cancel();
  assert.equal(res.status, 426);
});

Deno.test("yjsRoom() decodes the rest of the path", () => {
  assert.equal(yjsRoom("/yjs/notes/alice"), "notes/alice");
  assert.equal(yjsRoom("/yjs/plan%20b%2Fx"), "plan b/x");
  assert.equal(yjsRoom("/yjs/"), "");
  assert.equal(yjsRoom("/yjs"), null);
  assert.equal(yjsRoom("/other/doc"), null);
  assert.equal(yjsRoom("/yjs/%E0%A4%A"), null);
});
