import assert from "node:assert/strict";
import { makeHub } from "./_test_util.ts";
import { SwitchyardError } from "./errors.ts";
import type { Authenticator } from "./authenticator.ts";

const HISTORY = { chat: { historySize: 100, presence: true, joinLeave: true } };

Deno.test("Hub.open() answers connect with a new session", async () => {
  const { hub, connect } = await makeHub();
  const { connected } = await connect();
  assert.equal(connected.type, "connected");
  assert.equal(connected.resumed, false);
  assert.match(connected.session, /^[0-9a-f]{24}$/);
  assert.equal(connected.ping, 5000);
  assert.equal(hub.sessionCount, 1);
  await hub.shutdown();
});

Deno.test("Hub delivers a client publish to every subscriber, once, with offsets", async () => {
  const { hub, connect } = await makeHub({ namespaces: HISTORY });
  const a = await connect();
  const b = await connect();
  for (const { conn } of [a, b]) {
    conn.push({ type: "subscribe", id: 2, channel: "chat:lobby" });
    const r = await conn.reply(2);
    assert.deepEqual((r as { result: { recovered: boolean } }).result.recovered, false);
  }
  a.conn.push({ type: "publish", id: 3, seq: 1, channel: "chat:lobby", data: { text: "hi" } });
  const reply = await a.conn.reply(3);
  assert.deepEqual((reply as { result: { offset: number } }).result.offset, 1);
  for (const { conn } of [a, b]) {
    const pub = await conn.next((f) => f.type === "pub");
    assert.deepEqual(pub.type === "pub" && [pub.offset, pub.data, pub.info?.user], [
      1,
      { text: "hi" },
      "",
    ]);
  }
  assert.equal(b.conn.pubs().length, 1);
  await hub.shutdown();
});

Deno.test("Hub applies a repeated publish seq once and repeats the first reply", async () => {
  const { hub, connect } = await makeHub({ namespaces: HISTORY });
  const { conn } = await connect();
  conn.push({ type: "subscribe", id: 2, channel: "chat:x" });
  await conn.reply(2);
  conn.push({ type: "publish", id: 3, seq: 1, channel: "chat:x", data: 1 });
  conn.push({ type: "publish", id: 4, seq: 1, channel: "chat:x", data: 1 });
  const [r3, r4] = await Promise.all([conn.reply(3), conn.reply(4)]);
  assert.deepEqual((r3 as { result: unknown }).result, (r4 as { result: unknown }).result);
  assert.equal(conn.pubs().length, 1);
  await hub.shutdown();
});

Deno.test("Hub refuses frames before connect with ERR_NOT_CONNECTED (3504)", async () => {
  const { hub } = await makeHub();
  const { FakeConnection } = await import("./_test_util.ts");
  const conn = new FakeConnection();
  conn.link = hub.open(conn);
  conn.push({ type: "subscribe", id: 1, channel: "x" });
  const d = await conn.next((f) => f.type === "disconnect");
  assert.equal(d.type === "disconnect" && d.error, "ERR_NOT_CONNECTED");
  assert.equal(conn.closedWith?.code, 3504);
  await hub.shutdown();
});

Deno.test("Hub closes on malformed and oversized frames; other sessions are unharmed", async () => {
  const { hub, connect } = await makeHub({ limits: { maxMessageBytes: 100 } });
  const healthy = await connect();
  const bad = await connect();
  bad.conn.push("{not json");
  assert.equal(bad.conn.closedWith?.code, 3500);
  const big = await connect();
  big.conn.push(
    JSON.stringify({ type: "publish", id: 2, seq: 1, channel: "x", data: "y".repeat(200) }),
  );
  assert.equal(big.conn.closedWith?.code, 3501);
  const wide = await connect();
  wide.conn.push(JSON.stringify({ type: "ping", pad: "é".repeat(40) })); // 54 chars, 94 bytes
  assert.equal(wide.conn.closedWith?.code, 3501, "the limit counts UTF-8 bytes");
  const unknown = await connect();
  unknown.conn.push({ type: "nope" } as never);
  assert.equal(unknown.conn.closedWith?.code, 3500);
  healthy.conn.push({ type: "subscribe", id: 5, channel: "x" });
  assert.equal((await healthy.conn.reply(5)).type, "reply");
  assert.equal(healthy.conn.closedWith, undefined);
  await hub.shutdown();
});

Deno.test("Hub refuses connections past the total and per-IP limits with 3005", async () => {
  const { hub, connect } = await makeHub({ limits: { maxConnections: 3, maxConnectionsPerIp: 2 } });
  await connect({}, "websocket", "10.0.0.1");
  await connect({}, "websocket", "10.0.0.1");
  const third = await connect({}, "websocket", "10.0.0.1");
  assert.equal(third.connected.type, "disconnect");
  assert.equal(third.conn.closedWith?.code, 3005);
  assert.match(third.conn.closedWith!.reason, /max_connections_per_ip/);
  await connect({}, "sse", "10.0.0.2");
  const over = await connect({}, "sse", "10.0.0.3");
  assert.equal(over.conn.closedWith?.code, 3005);
  assert.match(over.conn.closedWith!.reason, /limits\.max_connections\)/);
  assert.equal(hub.connectionCount, 3);
  await hub.shutdown();
});

Deno.test("Hub answers ERR_CHANNEL_LIMIT past max_channels_per_session", async () => {
  const { hub, connect } = await makeHub({ limits: { maxChannelsPerSession: 2 } });
  const { conn } = await connect();
  for (const [id, ch] of [[2, "a"], [3, "b"], [4, "c"]] as const) {
    conn.push({ type: "subscribe", id, channel: ch });
  }
  const r = await conn.reply(4);
  assert.equal(r.type === "reply" && r.error?.code, "ERR_CHANNEL_LIMIT");
  assert.match(r.type === "reply" ? r.error!.message : "", /limit of 2 channels/);
  await hub.shutdown();
});

Deno.test("Hub answers ERR_RATE_LIMIT past publish_rate and recovers later", async () => {
  const { hub, clock, connect } = await makeHub({ limits: { publishRate: 2, publishBurst: 2 } });
  const { conn } = await connect();
  for (let i = 1; i <= 3; i++) {
    conn.push({ type: "publish", id: 10 + i, seq: i, channel: "x", data: i });
  }
  const r = await conn.reply(13);
  assert.equal(r.type === "reply" && r.error?.code, "ERR_RATE_LIMIT");
  clock.advance(1000);
  conn.push({ type: "publish", id: 14, seq: 4, channel: "x", data: 4 });
  const ok = await conn.reply(14);
  assert.ok(ok.type === "reply" && ok.result);
  await hub.shutdown();
});

Deno.test("Hub resumes a session on another transport and replays what was missed", async () => {
  const { hub, connect } = await makeHub({ namespaces: HISTORY });
  const first = await connect({ subs: { "chat:a": {} } });
  const top = first.connected.subs["chat:a"];
  await hub.publish("chat:a", "one");
  const one = await first.conn.next((f) => f.type === "pub");
  first.conn.close(1006, "network gone");
  await Promise.resolve();
  await hub.publish("chat:a", "two");
  await hub.publish("chat:a", "three");
  const since = one.type === "pub" ? { offset: one.offset, epoch: one.epoch } : top;
  const second = await connect({
    resume: { session: first.connected.session, key: first.connected.key },
    subs: { "chat:a": { since } },
  }, "sse");
  assert.equal(second.connected.resumed, true);
  assert.equal(second.connected.session, first.connected.session);
  assert.equal(second.connected.subs["chat:a"].recovered, true);
  assert.deepEqual(second.conn.pubs().map((p) => p.data), ["two", "three"]);
  assert.equal(second.conn.sent[0].type, "connected");
  await hub.publish("chat:a", "four");
  assert.deepEqual(second.conn.pubs().map((p) => p.data), ["two", "three", "four"]);
  await hub.shutdown();
});

Deno.test("Hub says recovered: false when history no longer covers the gap", async () => {
  const { hub, connect } = await makeHub({ namespaces: { chat: { historySize: 2 } } });
  const first = await connect({ subs: { "chat:a": {} } });
  const pos = first.connected.subs["chat:a"];
  for (let i = 0; i < 5; i++) await hub.publish("chat:a", i);
  const again = await connect({ subs: { "chat:a": { since: pos } } });
  assert.equal(again.connected.subs["chat:a"].recovered, false);
  assert.equal(again.connected.subs["chat:a"].offset, 5);
  assert.equal(again.conn.pubs().length, 0);
  const stale = await connect({ subs: { "chat:a": { since: { offset: 1, epoch: "other" } } } });
  assert.equal(stale.connected.subs["chat:a"].recovered, false);
  await hub.shutdown();
});

Deno.test("Hub replaces the old transport with ERR_TRANSPORT_REPLACED (3001)", async () => {
  const { hub, connect } = await makeHub();
  const old = await connect({ subs: { x: {} } });
  const fresh = await connect(
    {
      resume: { session: old.connected.session, key: old.connected.key },
      subs: { x: { since: old.connected.subs.x } },
    },
    "webtransport",
  );
  assert.equal(fresh.connected.resumed, true);
  assert.equal(old.conn.closedWith?.code, 3001);
  assert.equal(hub.stats.transportSwitches, 1);
  await hub.publish("x", "after");
  assert.equal(old.conn.pubs().length, 0);
  assert.equal(fresh.conn.pubs().length, 1);
  await hub.shutdown();
});

Deno.test("Hub does not resume with a wrong key", async () => {
  const { hub, connect } = await makeHub();
  const old = await connect();
  const other = await connect({ resume: { session: old.connected.session, key: "guess" } });
  assert.equal(other.connected.resumed, false);
  assert.notEqual(other.connected.session, old.connected.session);
  await hub.shutdown();
});

Deno.test("Hub forgets a detached session after the grace period", async () => {
  const { hub, clock, connect } = await makeHub({ timing: { graceMs: 1000 } });
  const s = await connect({ subs: { x: {} } });
  s.conn.close(1006, "gone");
  await Promise.resolve();
  assert.equal(hub.sessionCount, 1);
  clock.advance(2000);
  await Promise.resolve();
  assert.equal(hub.sessionCount, 0);
  const again = await connect({ resume: { session: s.connected.session, key: s.connected.key } });
  assert.equal(again.connected.resumed, false);
  await hub.shutdown();
});

Deno.test("Hub closes a silent connection with ERR_PING_TIMEOUT and pings live ones", async () => {
  const { hub, clock, connect } = await makeHub({
    timing: { pingIntervalMs: 1000, pingTimeoutMs: 500 },
  });
  const live = await connect();
  const silent = await connect();
  for (let i = 0; i < 5; i++) {
    clock.advance(400);
    live.conn.push({ type: "pong" });
  }
  assert.equal(silent.conn.closedWith?.code, 3002);
  assert.equal(live.conn.closedWith, undefined);
  assert.ok(live.conn.sent.some((f) => f.type === "ping"));
  await hub.shutdown();
});

Deno.test("Hub closes a connection that never sends connect", async () => {
  const { hub, clock } = await makeHub({ timing: { pingIntervalMs: 1000, pingTimeoutMs: 500 } });
  const { FakeConnection } = await import("./_test_util.ts");
  const conn = new FakeConnection();
  conn.link = hub.open(conn);
  clock.advance(3000);
  assert.equal(conn.closedWith?.code, 3002);
  await hub.shutdown();
});

Deno.test("Hub enforces namespaces, private channels and user-limited channels", async () => {
  const tokens: Authenticator = {
    connect: (t) => Promise.resolve({ user: t ?? "", channels: t === "vip" ? ["priv:vip"] : [] }),
    subscribe: (token, channel) =>
      token === `ok:${channel}`
        ? Promise.resolve({})
        : Promise.reject(new SwitchyardError("ERR_FORBIDDEN", "bad subscription token")),
  };
  const { hub, connect } = await makeHub({
    authenticator: tokens,
    namespaces: {
      priv: { subscribe: "private" },
      auth: { subscribe: "authenticated" },
      ro: { publish: false },
    },
  });
  const anon = await connect();
  const alice = await connect({ token: "alice" });
  const vip = await connect({ token: "vip" });
  const cases: [typeof anon, object, string | undefined][] = [
    [anon, { type: "subscribe", channel: "nope:x" }, "ERR_BAD_CHANNEL"],
    [anon, { type: "subscribe", channel: "priv:a" }, "ERR_FORBIDDEN"],
    [anon, { type: "subscribe", channel: "priv:a", token: "wrong" }, "ERR_FORBIDDEN"],
    [anon, { type: "subscribe", channel: "priv:a", token: "ok:priv:a" }, undefined],
    [anon, { type: "subscribe", channel: "auth:a" }, "ERR_FORBIDDEN"],
    [alice, { type: "subscribe", channel: "auth:a" }, undefined],
    [alice, { type: "subscribe", channel: "dm#alice,bob" }, undefined],
    [anon, { type: "subscribe", channel: "dm#alice,bob" }, "ERR_FORBIDDEN"],
    [vip, { type: "subscribe", channel: "priv:vip" }, undefined],
    [alice, { type: "publish", seq: 1, channel: "ro:news", data: 1 }, "ERR_FORBIDDEN"],
    [alice, { type: "publish", seq: 2, channel: "priv:b", data: 1 }, "ERR_FORBIDDEN"],
    [alice, { type: "subscribe", channel: "auth:a" }, "ERR_ALREADY_SUBSCRIBED"],
    [alice, { type: "unsubscribe", channel: "zzz" }, "ERR_NOT_SUBSCRIBED"],
  ];
  let id = 100;
  for (const [who, frame, code] of cases) {
    id += 1;
    who.conn.push({ ...frame, id } as never);
    const r = await who.conn.reply(id);
    assert.equal(r.type === "reply" ? r.error?.code : "none", code, JSON.stringify(frame));
  }
  await hub.shutdown();
});

Deno.test("Hub tracks presence and sends join/leave events", async () => {
  const { hub, connect } = await makeHub({ namespaces: HISTORY, authenticator: byUser() });
  const a = await connect({ token: "a", subs: { "chat:p": {} } });
  const b = await connect({ token: "b", subs: { "chat:p": {} } });
  a.conn.push({ type: "presence", id: 9, channel: "chat:p" });
  const r = await a.conn.reply(9);
  const members = Object.values((r as { result: Record<string, { user: string }> }).result);
  assert.deepEqual(members.map((m) => m.user).sort(), ["a", "b"]);
  await a.conn.next((f) => f.type === "join" && f.info.user === "b");
  b.conn.push({ type: "close" });
  const leave = await a.conn.next((f) => f.type === "leave");
  assert.equal(leave.type === "leave" && leave.info.user, "b");
  a.conn.push({ type: "presence", id: 10, channel: "x" });
  const off = await a.conn.reply(10);
  assert.equal(off.type === "reply" && off.error?.code, "ERR_BAD_REQUEST");
  await hub.shutdown();
});

Deno.test("Hub runs RPC methods once per seq and maps errors", async () => {
  const { hub, connect } = await makeHub();
  let calls = 0;
  hub.rpc("add", (data) => {
    calls += 1;
    const [a, b] = data as number[];
    return a + b;
  });
  hub.rpc("deny", () => {
    throw new SwitchyardError("ERR_FORBIDDEN", "no");
  });
  hub.rpc("crash", () => {
    throw new Error("secret detail");
  });
  const { conn } = await connect();
  conn.push({ type: "rpc", id: 2, seq: 1, method: "add", data: [2, 3] });
  conn.push({ type: "rpc", id: 3, seq: 1, method: "add", data: [2, 3] });
  conn.push({ type: "rpc", id: 4, seq: 2, method: "missing" });
  conn.push({ type: "rpc", id: 5, seq: 3, method: "deny" });
  conn.push({ type: "rpc", id: 6, seq: 4, method: "crash" });
  const [r2, r3, r4, r5, r6] = await Promise.all([2, 3, 4, 5, 6].map((i) => conn.reply(i)));
  assert.equal((r2 as { result: number }).result, 5);
  assert.equal((r3 as { result: number }).result, 5);
  assert.equal(calls, 1);
  assert.equal(r4.type === "reply" && r4.error?.code, "ERR_METHOD_NOT_FOUND");
  assert.equal(r5.type === "reply" && r5.error?.code, "ERR_FORBIDDEN");
  assert.equal(r6.type === "reply" && r6.error?.code, "ERR_INTERNAL");
  assert.doesNotMatch(r6.type === "reply" ? r6.error!.message : "", /secret/);
  await hub.shutdown();
});

Deno.test("Hub refuses bad tokens with the authenticator's code and closes on expiry", async () => {
  const auth: Authenticator = {
    connect: (t) =>
      t === "good"
        ? Promise.resolve({ user: "u", channels: [], expiresAt: 1_000_000 + 10_000 })
        : Promise.reject(new SwitchyardError("ERR_UNAUTHORIZED", "Invalid token: nope")),
    subscribe: () => Promise.resolve({}),
  };
  const { hub, clock, connect } = await makeHub({ authenticator: auth });
  const bad = await connect({ token: "bad" });
  assert.equal(bad.connected.type, "disconnect");
  assert.equal(bad.conn.closedWith?.code, 3502);
  const good = await connect({ token: "good" });
  assert.equal(good.connected.expires, 1_010_000);
  for (let i = 0; i < 12; i++) {
    clock.advance(1000);
    good.conn.push({ type: "pong" });
  }
  assert.equal(good.conn.closedWith?.code, 3004);
  await hub.shutdown();
});

Deno.test("Hub.shutdown() tells every client to reconnect (3000)", async () => {
  const { hub, connect } = await makeHub();
  const a = await connect();
  await hub.shutdown();
  const d = await a.conn.next((f) => f.type === "disconnect");
  assert.deepEqual(d.type === "disconnect" && [d.code, d.reconnect], [3000, true]);
  assert.equal(a.conn.closedWith?.code, 3000);
});

function byUser(): Authenticator {
  return {
    connect: (t) => Promise.resolve({ user: t ?? "", channels: [] }),
    subscribe: () => Promise.resolve({}),
  };
}

Deno.test("A namespace guard sees the token's claims and can refuse; RPCs get the claims too", async () => {
  const seen: unknown[] = [];
  const claimsOf: Record<string, Record<string, unknown>> = {
    alice: { sub: "alice", docs: { "notes/*": "rw" } },
  };
  const authenticator: Authenticator = {
    connect: (token) =>
      Promise.resolve(
        token
          ? { user: token, channels: [], claims: claimsOf[token] ?? {} }
          : { user: "", channels: [] },
      ),
    subscribe: () => Promise.reject(new SwitchyardError("ERR_FORBIDDEN", "no")),
  };
  const { hub, connect } = await makeHub({
    authenticator,
    namespaces: {
      doc: {
        guard: (channel, who) => {
          seen.push([channel, who.user, who.claims]);
          const docs = who.claims.docs as Record<string, string> | undefined;
          if (!docs || !channel.startsWith("doc:notes/")) {
            throw new SwitchyardError("ERR_FORBIDDEN", `No access to ${channel}`);
          }
        },
      },
    },
  });
  hub.rpc("whoami", (_data, ctx) => ctx.claims);
  const alice = await connect({ token: "alice" });
  const anon = await connect();
  alice.conn.push({ type: "subscribe", id: 2, channel: "doc:notes/a" });
  assert.equal((await alice.conn.reply(2)).type, "reply");
  alice.conn.push({ type: "subscribe", id: 3, channel: "doc:secret" });
  assert.equal(
    (await alice.conn.reply(3) as { error?: { code: string } }).error?.code,
    "ERR_FORBIDDEN",
  );
  anon.conn.push({ type: "subscribe", id: 2, channel: "doc:notes/a" });
  assert.equal(
    (await anon.conn.reply(2) as { error?: { code: string } }).error?.code,
    "ERR_FORBIDDEN",
  );
  assert.deepEqual(seen[0], ["doc:notes/a", "alice", claimsOf.alice]);
  assert.deepEqual(seen[2], ["doc:notes/a", "", {}]);
  alice.conn.push({ type: "rpc", id: 4, seq: 1, method: "whoami", data: null });
  assert.deepEqual((await alice.conn.reply(4) as { result?: unknown }).result, claimsOf.alice);
  await hub.shutdown();
});
