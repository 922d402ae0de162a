/**
 * Property: under random drops, transport switches, lost frames and grace
 * expiries, a client that follows docs/protocol.md receives every publication of
 * a channel exactly once and in order, and each of its publishes is applied once.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { FakeConnection, makeHub } from "./_test_util.ts";
import type { TransportKind } from "./connection.ts";
import type { ClientFrame, ServerFrame, StreamPosition } from "./protocol.ts";

type Op = "serverPublish" | "clientPublish" | "drop" | "switch" | "expire" | "settle";
const OPS: Op[] = ["serverPublish", "clientPublish", "drop", "switch", "expire", "settle"];
const KINDS: TransportKind[] = ["webtransport", "websocket", "sse"];
const CH = "chat:room";

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
}

class ModelClient {
  conn: FakeConnection | null = null;
  read = 0;
  session: { session: string; key: string } | undefined;
  position: StreamPosition | undefined;
  received: number[] = [];
  data: unknown[] = [];
  outbox = new Map<number, ClientFrame>();
  nextSeq = 1;
  nextId = 100;
  gaps = 0;

  constructor(readonly open: (c: FakeConnection) => void) {}

  connect(kind: TransportKind): void {
    const conn = new FakeConnection(kind);
    this.open(conn);
    this.conn = conn;
    this.read = 0;
    conn.push({
      type: "connect",
      id: 1,
      resume: this.session,
      subs: { [CH]: this.position ? { since: this.position } : {} },
    });
    for (const frame of this.outbox.values()) conn.push(frame);
  }

  publish(): void {
    const seq = this.nextSeq++;
    const frame: ClientFrame = {
      type: "publish",
      id: this.nextId++,
      seq,
      channel: CH,
      data: `c${seq}`,
    };
    this.outbox.set(seq, frame);
    if (this.conn && !this.conn.closedWith) this.conn.push(frame);
  }

  /** Read what the server sent since last time. */
  process(): void {
    const conn = this.conn;
    if (!conn) return;
    for (; this.read < conn.sent.length; this.read++) this.#handle(conn.sent[this.read]);
  }

  #handle(f: ServerFrame): void {
    if (f.type === "connected") {
      this.session = { session: f.session, key: f.key };
      const r = f.subs[CH];
      if (!r.recovered) {
        if (r.wasRecovering) this.gaps += 1;
        this.position = { offset: r.offset, epoch: r.epoch };
      }
    } else if (f.type === "pub") {
      const p = this.position;
      if (p && p.epoch === f.epoch && f.offset <= p.offset) return;
      if (p && (p.epoch !== f.epoch || f.offset !== p.offset + 1)) this.gaps += 1;
      this.position = { offset: f.offset, epoch: f.epoch };
      this.received.push(f.offset);
      this.data.push(f.data);
    } else if (f.type === "reply") {
      for (const [seq, frame] of this.outbox) {
        if ("id" in frame && frame.id === f.id) this.outbox.delete(seq);
      }
    }
  }
}

Deno.test("Hub + client model: no loss, no duplicate across drops and switches", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.constantFrom(...OPS), { minLength: 1, maxLength: 60 }),
      fc.array(fc.constantFrom(...KINDS), { minLength: 60, maxLength: 60 }),
      async (ops, kinds) => {
        const { hub, clock, connect: _ } = await makeHub({
          namespaces: { chat: { historySize: 10_000 } },
          timing: { graceMs: 5_000, pingIntervalMs: 60_000, pingTimeoutMs: 60_000 },
        });
        const client = new ModelClient((c) => c.link = hub.open(c));
        let published = 0;
        client.connect("websocket");
        await settle();
        client.process();
        for (const [i, op] of ops.entries()) {
          if (op === "serverPublish") {
            published += 1;
            await hub.publish(CH, `s${published}`);
          } else if (op === "clientPublish") client.publish();
          else if (op === "drop") {
            client.conn?.close(1006, "dropped");
            await settle();
            client.process();
            client.connect(kinds[i]);
          } else if (op === "switch") client.connect(kinds[i]);
          else if (op === "expire") {
            client.conn?.close(1006, "dropped");
            await settle();
            client.process();
            clock.advance(10_000);
            await settle();
            client.connect(kinds[i]);
          }
          await settle();
          client.process();
        }
        for (let i = 0; i < 20 && client.outbox.size > 0; i++) {
          await settle();
          client.process();
        }
        const { top } = await hub.history(CH, { limit: 0 });
        assert.equal(client.outbox.size, 0, "every publish answered");
        assert.equal(client.gaps, 0, "no gap");
        assert.deepEqual(client.received, Array.from({ length: top.offset }, (_, i) => i + 1));
        const mine = client.data.filter((d) => String(d).startsWith("c"));
        assert.equal(new Set(mine).size, mine.length, "no duplicate publish");
        assert.equal(mine.length, client.nextSeq - 1, "every publish applied");
        await hub.shutdown();
      },
    ),
    { numRuns: 80 },
  );
});
