/**
 * Yjs documents over Switchyard sessions: the client SDK's provider against a
 * real server, on every transport.
 */
import assert from "node:assert/strict";
import * as Y from "yjs";
import { Awareness } from "y-protocols/awareness";
import { SwitchyardClient } from "../client/mod.ts";
import { SwitchyardYjsProvider } from "../client/yjs_provider.ts";
import { deadline, waitFor } from "../client/_test_util.ts";
import { signToken } from "../src/auth/mod.ts";
import { startTestServer } from "./_server.ts";

const OPTS = { sanitizeOps: false, sanitizeResources: false };
const SECRET = "a-test-secret-that-is-long-enough-0123456789";
const KINDS = ["webtransport", "websocket", "sse"] as const;

/** A real server with document sync on (the default of \`serve\`), its database in a temp dir. */
async function syncServer(toml?: string) {
  return await startTestServer(toml ? { toml } : {});
}

/** Destroys the providers, then closes the clients and the server. */
async function closeAll(
  server: { close(): Promise<void> },
  providers: readonly SwitchyardYjsProvider[],
  clients: readonly SwitchyardClient[],
): Promise<void> {
  for (const p of providers) await p.destroy();
  for (const c of clients) await c.close();
  await server.close();
}

Deno.test({
  name: "Yjs provider: clients on different transports converge, a late one gets everything",
  ...OPTS,
  async fn() {
    const s = await syncServer();
    const clients = KINDS.map((kind) =>
      new SwitchyardClient(s.http, { storage: null, transports: [kind] })
    );
    const docs = KINDS.map(() => new Y.Doc());
    const providers = clients.map((c, i) => new SwitchyardYjsProvider(c, "notes/a", docs[i]));
    try {
      await deadline(Promise.all(providers.map((p) => p.synced)), "synced");
      docs.forEach((d, i) => d.getArray<string>("items").push([`from ${KINDS[i]}`]));
      await waitFor(
        () => docs.every((d) => d.getArray("items").length === 3),
        "every edit everywhere",
      );
      const first = JSON.stringify(docs[0].getArray("items").toJSON());
      assert.ok(docs.every((d) => JSON.stringify(d.getArray("items").toJSON()) === first));

      const late = new SwitchyardClient(s.http, { storage: null, transports: ["websocket"] });
      const lateDoc = new Y.Doc();
      const lateProvider = new SwitchyardYjsProvider(late, "notes/a", lateDoc);
      await deadline(lateProvider.synced, "late synced");
      assert.equal(JSON.stringify(lateDoc.getArray("items").toJSON()), first);
      await lateProvider.destroy();
      await late.close();
    } finally {
      await closeAll(s, providers, clients);
    }
  },
});

Deno.test({
  name: "Yjs provider: edits made offline and across transport switches all arrive, once",
  ...OPTS,
  async fn() {
    const s = await syncServer();
    const a = new SwitchyardClient(s.http, { storage: null, upgradeIntervalMs: 0 });
    const b = new SwitchyardClient(s.http, { storage: null, transports: ["websocket"] });
    const docA = new Y.Doc();
    const docB = new Y.Doc();
    // An edit before the provider exists is sent when it opens.
    docA.getMap("m").set("before", 1);
    const pa = new SwitchyardYjsProvider(a, "d", docA);
    const pb = new SwitchyardYjsProvider(b, "d", docB);
    try {
      await deadline(Promise.all([pa.synced, pb.synced]), "synced");
      const text = docA.getText("t");
      for (const kind of ["websocket", "sse", "webtransport"] as const) {
        await a.forceTransport(kind);
        for (let i = 0; i < 20; i++) text.insert(text.length, `${kind[0]}${i} `);
        a.dropTransport();
      }
      await deadline(pa.flushed(), "flushed");
      await waitFor(() => docB.getText("t").toString() === text.toString(), "b has a's text");
      assert.equal(docB.getMap("m").get("before"), 1);
      assert.equal(
        text.toString().split(" ").filter(Boolean).length,
        60,
        "no edit lost or doubled",
      );
    } finally {
      await closeAll(s, [pa, pb], [a, b]);
    }
  },
});

Deno.test({
  name: "Yjs provider: docs claim grants read-write, read-only or nothing",
  ...OPTS,
  async fn() {
    const s = await syncServer(`[auth]\nhmac_secret = "${SECRET}"\nanonymous = true\n`);
    const token = (docs: Record<string, string>) =>
      signToken({ sub: "u", docs }, { secret: SECRET, alg: "HS256", expiresIn: 600 });
    const writer = new SwitchyardClient(s.http, {
      storage: null,
      transports: ["websocket"],
      token: await token({ "team/*": "rw" }),
    });
    const reader = new SwitchyardClient(s.http, {
      storage: null,
      transports: ["sse"],
      token: await token({ "team/plan": "r" }),
    });
    const stranger = new SwitchyardClient(s.http, { storage: null, transports: ["websocket"] });
    const w = new Y.Doc();
    const r = new Y.Doc();
    const pw = new SwitchyardYjsProvider(writer, "team/plan", w);
    const pr = new SwitchyardYjsProvider(reader, "team/plan", r);
    const errors: string[] = [];
    pr.onError((e) => errors.push(e.message));
    try {
      await deadline(Promise.all([pw.synced, pr.synced]), "synced");
      assert.equal(pw.access, "rw");
      assert.equal(pr.access, "r");
      w.getMap("m").set("by", "writer");
      await waitFor(() => r.getMap("m").get("by") === "writer", "reader sees the writer");
      r.getMap("m").set("by", "reader");
      await deadline(pr.flushed(), "reader flushed");
      // What the server stored, read back through the HTTP API.
      const res = await fetch(`${s.http}/sync/docs/team/plan`, {
        headers: { authorization: `Bearer ${await token({ "team/*": "r" })}` },
      });
      const stored = new Y.Doc();
      Y.applyUpdate(stored, new Uint8Array(await res.arrayBuffer()));
      assert.equal(stored.getMap("m").get("by"), "writer", "a read-only edit never lands");
      assert.equal(
        await reader.rpc("sync.update", { doc: "team/plan", update: "AAA=" }).catch((e) => e.code),
        "ERR_FORBIDDEN",
      );
      const strangerDoc = new Y.Doc();
      const ps = new SwitchyardYjsProvider(stranger, "team/plan", strangerDoc);
      ps.onError(() => {});
      await assert.rejects(ps.synced, (e: { code?: string }) => e.code === "ERR_FORBIDDEN");
      const sub = stranger.subscribe("sync:team/plan", { onPublication: () => {} });
      await assert.rejects(sub.ready, (e: { code?: string }) => e.code === "ERR_FORBIDDEN");
      await ps.destroy();
    } finally {
      await pw.destroy();
      await pr.destroy();
      for (const c of [writer, reader, stranger]) await c.close();
      await s.close();
    }
  },
});

Deno.test({
  name: "sync RPCs refuse malformed arguments with a clear error",
  ...OPTS,
  async fn() {
    const s = await syncServer();
    const c = new SwitchyardClient(s.http, { storage: null, transports: ["websocket"] });
    try {
      const err = (p: Promise<unknown>) => p.then(() => "ok", (e) => `${e.code} ${e.message}`);
      assert.match(await err(c.rpc("sync.open", {})), /ERR_BAD_REQUEST.*document name/);
      assert.match(await err(c.rpc("sync.open", { doc: "x", sv: 5 })), /"sv" must be a base64/);
      assert.match(await err(c.rpc("sync.update", { doc: "x", update: "%%" })), /not valid base64/);
      assert.match(
        await err(c.rpc("sync.update", { doc: "x", update: "AQID" })),
        /ERR_BAD_REQUEST.*ERR_BAD_UPDATE/,
      );
    } finally {
      await c.close();
      await s.close();
    }
  },
});

Deno.test({
  name: "Yjs provider: awareness reaches the others, a newcomer sees everyone, a leaver is removed",
  ...OPTS,
  async fn() {
    const s = await syncServer();
    const make = (kind: (typeof KINDS)[number]) => {
      const client = new SwitchyardClient(s.http, { storage: null, transports: [kind] });
      const doc = new Y.Doc();
      const awareness = new Awareness(doc);
      const provider = new SwitchyardYjsProvider(client, "aw", doc, { awareness });
      return { client, doc, awareness, provider };
    };
    const names = (a: Awareness) =>
      [...a.getStates().values()].map((st) => (st as { name?: string }).name).filter(Boolean)
        .sort().join();
    const a = make("webtransport");
    const b = make("sse");
    const all = [a, b];
    try {
      a.awareness.setLocalStateField("name", "a");
      b.awareness.setLocalStateField("name", "b");
      await waitFor(() => names(a.awareness) === "a,b" && names(b.awareness) === "a,b", "a,b");
      const c = make("websocket");
      all.push(c);
      c.awareness.setLocalStateField("name", "c");
      await waitFor(() => all.every((p) => names(p.awareness) === "a,b,c"), "a newcomer");
      a.awareness.setLocalStateField("cursor", 7);
      await waitFor(
        () =>
          (c.awareness.getStates().get(a.awareness.clientID) as { cursor?: number })?.cursor === 7,
        "a state change",
      );
      await b.provider.destroy();
      await b.client.close();
      all.splice(all.indexOf(b), 1);
      await waitFor(() => names(a.awareness) === "a,c" && names(c.awareness) === "a,c", "b gone");
    } finally {
      for (const p of all) {
        await p.provider.destroy();
        p.awareness.destroy();
        await p.client.close();
      }
      await s.close();
    }
  },
});

Deno.test({
  name: "sync: a [namespaces.sync] or [namespaces.awareness] table keeps the docs claim guard",
  ...OPTS,
  async fn() {
    const s = await syncServer(
      `[auth]\nhmac_secret = "${SECRET}"\nanonymous = true\n` +
        `[namespaces.sync]\nhistory_size = 5000\nhistory_ttl_ms = 600000\n` +
        `[namespaces.awareness]\npresence = true\njoin_leave = true\n`,
    );
    const stranger = new SwitchyardClient(s.http, { storage: null, transports: ["websocket"] });
    try {
      for (const channel of ["sync:secret", "awareness:secret"]) {
        const sub = stranger.subscribe(channel, { onPublication: () => {} });
        await assert.rejects(sub.ready, (e: { code?: string }) => e.code === "ERR_FORBIDDEN");
        await assert.rejects(
          stranger.publish(channel, { u: "AAA=" }),
          (e: { code?: string }) => e.code === "ERR_FORBIDDEN",
          `nobody publishes on ${channel}`,
        );
      }
    } finally {
      await stranger.close();
      await s.close();
    }
  },
});

Deno.test({
  name: "Yjs provider: flushed() waits for an update the server could not store yet",
  ...OPTS,
  async fn() {
    // One document in memory: while a y-websocket socket holds "held", "edited" cannot load.
    const s = await syncServer(`[sync]\nmax_docs_loaded = 1\n`);
    const client = new SwitchyardClient(s.http, { storage: null, transports: ["websocket"] });
    const doc = new Y.Doc();
    const provider = new SwitchyardYjsProvider(client, "edited", doc);
    const errors: string[] = [];
    provider.onError((e) => errors.push((e as { code?: string }).code ?? e.message));
    let holder: WebSocket | undefined;
    try {
      await deadline(provider.synced, "synced");
      holder = new WebSocket(`${s.http.replace("http", "ws")}/yjs/held`);
      holder.binaryType = "arraybuffer";
      const first = new Promise((resolve) => holder!.onmessage = resolve);
      await deadline(first, "the holder's document is open");
      doc.getMap("m").set("k", "v");
      await waitFor(() => errors.includes("ERR_UNAVAILABLE"), "the send is refused for now");
      const closed = new Promise((resolve) => holder!.onclose = resolve);
      holder.close();
      await deadline(closed, "holder closed");
      await deadline(provider.flushed(), "flushed");
      const res = await fetch(`${s.http}/sync/docs/edited`);
      const stored = new Y.Doc();
      Y.applyUpdate(stored, new Uint8Array(await res.arrayBuffer()));
      assert.equal(stored.getMap("m").get("k"), "v", "flushed() means stored");
    } finally {
      holder?.close();
      await provider.destroy();
      await client.close();
      await s.close();
    }
  },
});

Deno.test({
  name:
    "Yjs provider: any document name works (spaces, #, %), and a too long one is refused clearly",
  ...OPTS,
  async fn() {
    const s = await syncServer();
    const clients = ["websocket", "sse"].map((k) =>
      new SwitchyardClient(s.http, { storage: null, transports: [k as "websocket"] })
    );
    const docs = clients.map(() => new Y.Doc());
    const providers = clients.map((c, i) =>
      new SwitchyardYjsProvider(c, "plan b#bob 100%", docs[i])
    );
    try {
      await deadline(Promise.all(providers.map((p) => p.synced)), "synced");
      docs[0].getMap("m").set("k", "v");
      await waitFor(() => docs[1].getMap("m").get("k") === "v", "the other client");
      const other = new Y.Doc();
      Y.applyUpdate(
        other,
        new Uint8Array(
          await (await fetch(`${s.http}/sync/docs/${encodeURIComponent("plan b#bob 100%")}`))
            .arrayBuffer(),
        ),
      );
      assert.equal(other.getMap("m").get("k"), "v", "the same document over HTTP");
      assert.match(
        await clients[0].rpc("sync.open", { doc: "x".repeat(300) }).catch((e) =>
          e.message
        ) as string,
        /too long for a channel/,
      );
    } finally {
      await closeAll(s, providers, clients);
    }
  },
});

Deno.test({
  name: "Yjs provider: a burst of edits bigger than one message still arrives whole",
  ...OPTS,
  async fn() {
    const s = await syncServer();
    const a = new SwitchyardClient(s.http, { storage: null, transports: ["websocket"] });
    const b = new SwitchyardClient(s.http, { storage: null, transports: ["sse"] });
    const docA = new Y.Doc();
    const docB = new Y.Doc();
    const pa = new SwitchyardYjsProvider(a, "burst", docA);
    const pb = new SwitchyardYjsProvider(b, "burst", docB);
    const errors: string[] = [];
    pa.onError((e) => errors.push(e.message));
    try {
      await deadline(Promise.all([pa.synced, pb.synced]), "synced");
      const items = docA.getArray<string>("items");
      // ~300 KB in 3,000 edits, far past the 64 KiB message limit if merged into one update.
      for (let i = 0; i < 3000; i++) items.push([`${i}:${"x".repeat(96)}`]);
      await deadline(pa.flushed(), "flushed", 30_000);
      await waitFor(() => docB.getArray("items").length === 3000, "b has every edit", 30_000);
      assert.deepEqual(errors, []);
    } finally {
      await closeAll(s, [pa, pb], [a, b]);
    }
  },
});
