/**
 * Document sync converges under chaos: against one real server, 2–5 Switchyard
 * clients (each on a random transport) and maybe one stock y-websocket client
 * make random concurrent edits while their connections drop and switch
 * transports. Once everyone is back and flushed, every client's document is the
 * server's document, every array push is in it exactly once and every map key
 * holds one of the values set for it.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { SwitchyardClient } from "../client/mod.ts";
import { SwitchyardYjsProvider } from "../client/yjs_provider.ts";
import { deadline } from "../client/_test_util.ts";
import type { TransportKind } from "../client/transport.ts";
import { startTestServer, type TestServer } from "./_server.ts";

const KINDS: TransportKind[] = ["webtransport", "websocket", "sse"];
const KEYS = ["k0", "k1", "k2", "k3"];
const DEADLINE_MS = 8000;

type Op =
  | { type: "insert"; at: number; text: string }
  | { type: "delete"; at: number; len: number }
  | { type: "set"; key: string }
  | { type: "push" }
  | { type: "drop" }
  | { type: "force"; kind: TransportKind | null }
  | { type: "reconnect" }
  | { type: "pause"; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      type: fc.constant("insert" as const),
      at: fc.nat(),
      text: fc.string({
        unit: fc.constantFrom("a", "b", "c", "é", "😀"),
        minLength: 1,
        maxLength: 4,
      }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant("delete" as const),
      at: fc.nat(),
      len: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ type: fc.constant("set" as const), key: fc.constantFrom(...KEYS) }),
  },
  { weight: 2, arbitrary: fc.constant({ type: "push" as const }) },
  { weight: 1, arbitrary: fc.constant({ type: "drop" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      type: fc.constant("force" as const),
      kind: fc.constantFrom<TransportKind | null>(...KINDS, null),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ type: "reconnect" as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant("pause" as const),
      ms: fc.integer({ min: 0, max: 8 }),
    }),
  },
);

const scenario = fc.record({
  kinds: fc.array(fc.constantFrom(...KINDS), { minLength: 2, maxLength: 5 }),
  stock: fc.boolean(),
  // `who` picks a peer modulo the peer count, so steps shrink independently of the peers.
  steps: fc.array(fc.record({ who: fc.nat(), op }), { minLength: 1, maxLength: 40 }),
});

/** One editor: a Switchyard client with its provider, or the stock y-websocket client. */
interface Peer {
  label: string;
  doc: Y.Doc;
  drop(): void;
  force(kind: TransportKind | null): void;
  reconnect(): void;
  /** Connected, and every local change handed to the server (stored, for Switchyard peers). */
  settle(): Promise<void>;
  close(): Promise<void>;
}

function switchyardPeer(s: TestServer, name: string, kind: TransportKind, errors: string[]): Peer {
  const client = new SwitchyardClient(s.http, {
    storage: null,
    transports: [kind, ...KINDS.filter((k) => k !== kind)],
    upgradeIntervalMs: 0,
    backoff: { minMs: 1, maxMs: 20 },
  });
  const doc = new Y.Doc();
  const provider = new SwitchyardYjsProvider(client, name, doc);
  const label = `${kind} client ${doc.clientID}`;
  provider.onError((err) => errors.push(`${label}: ${err.message}`));
  // Settled means no switch under way. (Closing a client mid-switch once left an unhandled
  // rejection of a re-sent unsubscribe; SwitchyardClient#reconcile() now handles it.)
  const switches = new Set<Promise<void>>();
  const track = (switching: Promise<void>) => {
    // A switch may be refused while the link is down: the session stays where it was.
    const settled: Promise<void> = switching.catch(() => {}).finally(() =>
      switches.delete(settled)
    );
    switches.add(settled);
  };
  return {
    label,
    doc,
    drop: () => client.dropTransport(),
    force: (k) => track(client.forceTransport(k)),
    reconnect: () => track(client.forceTransport(null)),
    async settle() {
      await deadline(Promise.all(switches), `${label} to end its transport switches`, DEADLINE_MS);
      await deadline(client.connect(), `${label} to connect`, DEADLINE_MS);
      await deadline(provider.flushed(), `${label} to flush`, DEADLINE_MS);
    },
    async close() {
      await provider.destroy();
      await client.close();
      doc.destroy();
    },
  };
}

function stockPeer(s: TestServer, name: string): Peer {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(`${s.http.replace("http:", "ws:")}/yjs`, name, doc, {
    WebSocketPolyfill: WebSocket,
    // Peers in one process would otherwise also sync over BroadcastChannel, not the server.
    disableBc: true,
    // Reconnects after a close happen on the next tick: no timer outlives destroy().
    maxBackoffTime: 0,
  });
  const label = `y-websocket client ${doc.clientID}`;
  return {
    label,
    doc,
    drop: () => provider.disconnect(),
    // The stock client has one transport: a switch is a reconnect.
    force: () => provider.connect(),
    reconnect: () => provider.connect(),
    async settle() {
      provider.connect();
      // Sync step 2 from the server: the server answered this connection's step 1.
      await deadline(
        new Promise<void>((resolve) => {
          if (provider.synced) return resolve();
          const on = (synced: boolean) => {
            if (!synced) return;
            provider.off("sync", on);
            resolve();
          };
          provider.on("sync", on);
        }),
        `${label} to sync`,
        DEADLINE_MS,
      );
    },
    async close() {
      const ws = provider.ws;
      const closed = ws && ws.readyState !== WebSocket.CLOSED
        ? new Promise((resolve) => ws.addEventListener("close", resolve))
        : undefined;
      provider.destroy();
      provider.awareness.destroy();
      doc.destroy();
      if (closed) await deadline(closed, `${label} to close`, DEADLINE_MS);
      // destroy() schedules a (no-op) reconnect with the 0 ms backoff: let it run.
      await new Promise((resolve) => setTimeout(resolve, 0));
    },
  };
}

/** What two replicas must agree on: the state vector and every shared type's content. */
function snapshot(doc: Y.Doc): string {
  const sv = [...Y.decodeStateVector(Y.encodeStateVector(doc))].sort(([a], [b]) => a - b);
  return JSON.stringify({
    sv,
    t: doc.getText("t").toString(),
    // Sorted: a map's key order is the order its entries reached this replica.
    m: Object.entries(doc.getMap("m").toJSON()).sort(([a], [b]) => a < b ? -1 : 1),
    a: doc.getArray("a").toJSON(),
  });
}

async function serverDoc(s: TestServer, name: string): Promise<Y.Doc> {
  const res = await fetch(`${s.http}/sync/docs/${name}`);
  assert.equal(res.status, 200, `GET /sync/docs/${name}`);
  const doc = new Y.Doc();
  Y.applyUpdate(doc, new Uint8Array(await res.arrayBuffer()));
  return doc;
}

/** Polls the server's document until every peer's equals it; returns it. */
async function converged(s: TestServer, name: string, peers: Peer[]): Promise<Y.Doc> {
  const end = Date.now() + DEADLINE_MS;
  for (;;) {
    const server = await serverDoc(s, name);
    const want = snapshot(server);
    const differ = peers.filter((p) => snapshot(p.doc) !== want);
    if (differ.length === 0) return server;
    server.destroy();
    if (Date.now() > end) {
      const detail = differ.map((p) => `${p.label}: ${snapshot(p.doc)}`).join("\n");
      throw new Error(
        `Timed out after ${DEADLINE_MS} ms waiting for convergence\nserver: ${want}\n${detail}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

let run = 0;

// The server, the clients' reconnect and ping timers and the stock client's sockets outlive
// single runs by design: every one is closed at the end, but not in step with the sanitizers.
Deno.test({
  name: "Document sync converges under concurrent edits, drops and transport switches",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await startTestServer();
    try {
      await fc.assert(
        fc.asyncProperty(scenario, async ({ kinds, stock, steps }) => {
          const name = `prop/${++run}-${crypto.randomUUID().slice(0, 8)}`;
          const errors: string[] = [];
          const peers = kinds.map((kind) => switchyardPeer(s, name, kind, errors));
          if (stock) peers.push(stockPeer(s, name));
          const pushed: string[] = [];
          const setValues = new Map<string, Set<string>>();
          let serial = 0;
          try {
            for (const { who, op } of steps) {
              const peer = peers[who % peers.length];
              const text = peer.doc.getText("t");
              switch (op.type) {
                case "insert":
                  text.insert(op.at % (text.length + 1), op.text);
                  break;
                case "delete": {
                  if (text.length === 0) break;
                  const at = op.at % text.length;
                  text.delete(at, Math.min(op.len, text.length - at));
                  break;
                }
                case "set": {
                  const value = `${peer.doc.clientID}:${++serial}`;
                  peer.doc.getMap("m").set(op.key, value);
                  setValues.set(op.key, (setValues.get(op.key) ?? new Set()).add(value));
                  break;
                }
                case "push": {
                  const value = `${peer.doc.clientID}:${++serial}`;
                  peer.doc.getArray("a").push([value]);
                  pushed.push(value);
                  break;
                }
                case "drop":
                  peer.drop();
                  break;
                case "force":
                  peer.force(op.kind);
                  break;
                case "reconnect":
                  peer.reconnect();
                  break;
                case "pause":
                  // Not a wait for an outcome: it lets frames flow between edits.
                  await new Promise((resolve) => setTimeout(resolve, op.ms));
                  break;
              }
            }
            await Promise.all(peers.map((p) => p.settle()));
            const server = await converged(s, name, peers);
            try {
              const array = server.getArray<string>("a").toArray();
              assert.deepEqual(
                [...array].sort(),
                [...pushed].sort(),
                "every push is in the array exactly once",
              );
              const map = server.getMap<string>("m");
              assert.deepEqual([...map.keys()].sort(), [...setValues.keys()].sort());
              for (const [key, values] of setValues) {
                assert.ok(values.has(map.get(key)!), `map value of ${key} is one that was set`);
              }
              assert.deepEqual(errors, [], "no provider reported an error");
            } finally {
              server.destroy();
            }
          } finally {
            for (const p of peers) await p.close();
          }
        }),
        { numRuns: 15 },
      );
    } finally {
      await s.close();
    }
  },
});
