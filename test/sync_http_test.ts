/**
 * Document sync through a real server: the HTTP API for batch syncers, and the
 * stock y-websocket client across a server restart.
 */
import assert from "node:assert/strict";
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import { Awareness } from "y-protocols/awareness";
import { SwitchyardClient } from "../client/mod.ts";
import { SwitchyardYjsProvider } from "../client/yjs_provider.ts";
import { waitFor } from "../client/_test_util.ts";
import { signToken } from "../src/auth/mod.ts";
import { startTestServer } from "./_server.ts";

const OPTS = { sanitizeOps: false, sanitizeResources: false };
const SECRET = "a-test-secret-that-is-long-enough-0123456789";
const AUTH_TOML = `[auth]\nhmac_secret = "${SECRET}"\n[limits]\npublish_rate = 100000\n` +
  `publish_burst = 100000\n[sync]\nmax_update_bytes = 4096\n`;

const bearer = async (docs: Record<string, string>) => ({
  authorization: `Bearer ${await signToken({ sub: "u", docs }, {
    secret: SECRET,
    alg: "HS256",
    expiresIn: 600,
  })}`,
});

/** An update that sets `key` in map "m" of a fresh replica. */
function setUpdate(key: string, value: unknown): Uint8Array<ArrayBuffer> {
  const doc = new Y.Doc();
  doc.getMap("m").set(key, value);
  return Y.encodeStateAsUpdate(doc) as Uint8Array<ArrayBuffer>;
}

async function error(res: Response): Promise<string> {
  const body = await res.json();
  return `${res.status} ${body.error}`;
}

Deno.test({
  name: "sync HTTP API: fetch, diff, apply, list changes, with the docs claim",
  ...OPTS,
  async fn() {
    const s = await startTestServer({ toml: AUTH_TOML });
    const api = `${s.http}/sync`;
    try {
      const rw = await bearer({ "team/*": "rw" });
      const empty = await fetch(`${api}/docs/team/plan`, { headers: rw });
      assert.equal(empty.status, 200);
      assert.equal(empty.headers.get("content-type"), "application/octet-stream");
      const start = Number(empty.headers.get("x-switchyard-seq"));
      await empty.body?.cancel();

      const update = setUpdate("a", 1);
      const post = () =>
        fetch(`${api}/docs/team/plan`, { method: "POST", headers: rw, body: update });
      const { seq } = await (await post()).json();
      assert.ok(seq > start);
      assert.deepEqual(await (await post()).json(), { seq: 0 }, "a repeated update is not stored");

      // A replica that has everything gets an empty diff; a fresh one gets the state.
      const replica = new Y.Doc();
      Y.applyUpdate(
        replica,
        new Uint8Array(await (await fetch(`${api}/docs/team/plan`, { headers: rw })).arrayBuffer()),
      );
      assert.equal(replica.getMap("m").get("a"), 1);
      const sv = Y.encodeStateVector(replica).toBase64({ alphabet: "base64url" });
      const diff = await fetch(`${api}/docs/team/plan?sv=${sv}`, { headers: rw });
      const diffBytes = new Uint8Array(await diff.arrayBuffer());
      assert.ok(diffBytes.length < update.length, `only the diff: ${diffBytes.length} bytes`);
      Y.applyUpdate(replica, diffBytes);
      assert.equal(Y.encodeStateVector(replica).toBase64({ alphabet: "base64url" }), sv);

      await fetch(`${api}/docs/secret`, {
        method: "POST",
        headers: await bearer({ "*": "rw" }),
        body: setUpdate("s", 1),
      }).then((r) => r.body?.cancel());
      const changes = await (await fetch(`${api}/changes?since=${start}`, { headers: rw })).json();
      assert.deepEqual(changes.changes.map((c: { doc: string }) => c.doc), ["team/plan"]);
      assert.ok(changes.next > seq, "the cursor moves past documents the caller cannot see");
      const after = await (await fetch(`${api}/changes?since=${changes.next}`, { headers: rw }))
        .json();
      assert.deepEqual(after, { changes: [], next: changes.next });

      // Refusals, each with its code.
      const ro = await bearer({ "team/plan": "r" });
      const cases: [string, RequestInit, string][] = [
        [
          "/docs/team/plan",
          { method: "POST", headers: ro, body: setUpdate("b", 2) },
          "403 ERR_READ_ONLY",
        ],
        ["/docs/other", { headers: rw }, "403 ERR_FORBIDDEN"],
        ["/docs/team/plan", { headers: { authorization: "Bearer nope" } }, "401 ERR_UNAUTHORIZED"],
        ["/docs/team/plan", { headers: { authorization: "Basic eA==" } }, "401 ERR_UNAUTHORIZED"],
        ["/docs/team/plan", {}, "403 ERR_FORBIDDEN"],
        [
          "/docs/team/plan",
          { method: "POST", headers: rw, body: new Uint8Array([1, 2, 3]) },
          "400 ERR_BAD_UPDATE",
        ],
        [
          "/docs/team/plan",
          { method: "POST", headers: rw, body: new Uint8Array(5000) },
          "413 ERR_UPDATE_TOO_LARGE",
        ],
        ["/docs/team/plan", { method: "POST", headers: rw }, "400 ERR_BAD_UPDATE"],
        ["/docs/team/plan?sv=%%%", { headers: rw }, "400 ERR_BAD_REQUEST"],
        ["/changes?since=-1", { headers: rw }, "400 ERR_BAD_REQUEST"],
        [
          "/docs/team/plan",
          { method: "PUT", headers: rw, body: "x" },
          "405 ERR_METHOD_NOT_ALLOWED",
        ],
        ["/docs/", { headers: rw }, "400 ERR_BAD_DOC_NAME"],
        ["/nothing", { headers: rw }, "404 ERR_NOT_FOUND"],
      ];
      for (const [path, init, expected] of cases) {
        assert.equal(await error(await fetch(`${api}${path}`, init)), expected, `${path}`);
      }
      const state = new Y.Doc();
      Y.applyUpdate(
        state,
        new Uint8Array(await (await fetch(`${api}/docs/team/plan`, { headers: rw })).arrayBuffer()),
      );
      assert.deepEqual(state.getMap("m").toJSON(), { a: 1 }, "no refused write landed");
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "sync HTTP API: /openapi.json describes every path, and other origins may call it",
  ...OPTS,
  async fn() {
    const s = await startTestServer({
      toml: `allowed_origins = ["chrome-extension://abc"]\n`,
    });
    try {
      const doc = await (await fetch(`${s.http}/openapi.json`)).json();
      assert.equal(doc.openapi, "3.1.0");
      assert.deepEqual(Object.keys(doc.paths).sort(), ["/sync/changes", "/sync/docs/{doc}"]);
      const preflight = await fetch(`${s.http}/sync/docs/tabs`, {
        method: "OPTIONS",
        headers: {
          origin: "chrome-extension://abc",
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type",
        },
      });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get("access-control-allow-origin"), "chrome-extension://abc");
      const get = await fetch(`${s.http}/sync/docs/tabs`, {
        headers: { origin: "chrome-extension://abc" },
      });
      await get.body?.cancel();
      assert.equal(get.headers.get("access-control-allow-origin"), "chrome-extension://abc");
    } finally {
      await s.close();
    }
  },
});

function stockClient(base: string, room: string) {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(base, room, doc, {
    WebSocketPolyfill: WebSocket,
    disableBc: true,
    maxBackoffTime: 0,
  });
  return {
    doc,
    provider,
    synced: () => provider.synced,
    destroy() {
      provider.destroy();
      provider.awareness.destroy();
      doc.destroy();
    },
  };
}

Deno.test({
  name: "stock y-websocket clients: converge, a late one gets all, a restart loses nothing",
  ...OPTS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "switchyard-sync-restart-" });
    const env = { SWITCHYARD_SYNC_DATABASE: `${dir}/docs.db` };
    let s = await startTestServer({ env });
    const clients: ReturnType<typeof stockClient>[] = [];
    try {
      const a = stockClient(`${s.http.replace("http", "ws")}/yjs`, "room/1");
      const b = stockClient(`${s.http.replace("http", "ws")}/yjs`, "room/1");
      clients.push(a, b);
      await waitFor(() => a.synced() && b.synced(), "both synced");
      a.doc.getText("t").insert(0, "hello ");
      b.doc.getText("t").insert(0, "world ");
      await waitFor(
        () =>
          a.doc.getText("t").length === 12 &&
          a.doc.getText("t").toString() === b.doc.getText("t").toString(),
        "a and b converge",
      );
      const late = stockClient(`${s.http.replace("http", "ws")}/yjs`, "room/1");
      clients.push(late);
      await waitFor(
        () => late.doc.getText("t").toString() === a.doc.getText("t").toString(),
        "late",
      );
      const before = a.doc.getText("t").toString();
      for (const c of clients.splice(0)) c.destroy();

      await s.close();
      s = await startTestServer({ env });
      const fresh = stockClient(`${s.http.replace("http", "ws")}/yjs`, "room/1");
      clients.push(fresh);
      await waitFor(() => fresh.doc.getText("t").toString() === before, "state after restart");
    } finally {
      for (const c of clients) c.destroy();
      await s.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "/metrics counts documents, updates, commits and their latency",
  ...OPTS,
  async fn() {
    const s = await startTestServer();
    try {
      for (let i = 0; i < 3; i++) {
        await fetch(`${s.http}/sync/docs/m${i}`, { method: "POST", body: setUpdate("k", i) })
          .then((r) => r.body?.cancel());
      }
      const text = await (await fetch(`${s.http}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
      assert.equal(value("switchyard_sync_updates_total"), 3);
      assert.ok(value("switchyard_sync_commits_total") >= 1);
      assert.ok(value("switchyard_sync_docs_loaded") >= 0);
      assert.equal(value("switchyard_sync_compactions_total"), 0);
      assert.match(
        text,
        /^switchyard_sync_commit_duration_seconds_count\{store="sqlite"\} [1-3]$/m,
      );
    } finally {
      await s.close();
    }
  },
});

Deno.test({
  name: "awareness crosses protocols: a y-websocket client and a Switchyard client see each other",
  ...OPTS,
  async fn() {
    const s = await startTestServer();
    const yws = stockClient(`${s.http.replace("http", "ws")}/yjs`, "aw/x");
    const client = new SwitchyardClient(s.http, { storage: null, transports: ["sse"] });
    const doc = new Y.Doc();
    const awareness = new Awareness(doc);
    const provider = new SwitchyardYjsProvider(client, "aw/x", doc, { awareness });
    const names = (a: Awareness) =>
      [...a.getStates().values()].map((st) => (st as { name?: string }).name).filter(Boolean)
        .sort().join();
    try {
      yws.provider.awareness.setLocalStateField("name", "stock");
      awareness.setLocalStateField("name", "sdk");
      await waitFor(
        () => names(awareness) === "sdk,stock" && names(yws.provider.awareness) === "sdk,stock",
        "each sees the other",
      );
      yws.destroy();
      await waitFor(() => names(awareness) === "sdk", "the stock client's state is removed");
    } finally {
      yws.destroy();
      await provider.destroy();
      awareness.destroy();
      await client.close();
      await s.close();
    }
  },
});

Deno.test({
  name: "serve loads Yjs only when a document is first used",
  ...OPTS,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "switchyard-lazy-sync-" });
    const script = `${dir}/probe.ts`;
    const server = new URL("./_server.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { startTestServer } from ${JSON.stringify(server)};
const yjs = () => "__ $YJS$ __" in globalThis;
const s = await startTestServer();
const before = yjs();
await (await fetch(s.http + "/sync/docs/probe")).arrayBuffer();
console.log(JSON.stringify({ before, after: yjs() }));
await s.close();
`,
    );
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--unstable-net", "--config", "deno.json", script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      assert.deepEqual(JSON.parse(text.split("\n").at(-1)!), { before: false, after: true });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
