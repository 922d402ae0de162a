/**
 * The gateway's HTTP API and live log channel inside a real Switchyard, with real session
 * processes: an admin creates, lists, restarts and stops sessions and reads their logs; a
 * session's own token reaches only that session; a UI subscribed to `gateway-logs:{id}` sees
 * the process's lines and state changes as they happen; bad requests get clear errors.
 *
 * @module
 */

import assert from "node:assert/strict";
import { SwitchyardClient } from "../client/mod.ts";
import { waitFor } from "../client/_test_util.ts";
import { livingGroupMembers } from "../src/services/gateway/supervisor.ts";
import { deadline } from "./_deadline.ts";
import { startGatewayServer } from "./_gateway_server.ts";
import type { TestServer } from "./_server.ts";

/** A session that logs a line per request; ids starting with "broken" fail before ready. */
const SESSION_SERVER = `
const [port, id] = Deno.args;
if (id.startsWith("broken")) {
  console.error("boom: cannot find module ./missing.js");
  Deno.exit(3);
}
Deno.serve({ hostname: "127.0.0.1", port: Number(port), onListen() {
  console.log("session " + id + " listening on " + port);
} }, (req) => {
  console.log("GET " + new URL(req.url).pathname);
  return new Response("hello from " + id);
});
`;

async function call(
  base: string,
  path: string,
  init: RequestInit & { token?: string } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  const res = await deadline(
    fetch(`${base}${path}`, { ...init, headers }),
    30_000,
    `${init.method ?? "GET"} ${path}`,
  );
  return { status: res.status, body: await res.json(), headers: res.headers };
}

type Sign = (claims: Record<string, unknown>) => Promise<string>;

async function withGateway(fn: (server: TestServer, sign: Sign) => Promise<void>): Promise<void> {
  const gateway = await startGatewayServer({
    session: SESSION_SERVER,
    gateway: "start_on_request = false\nmax_sessions = 2",
  });
  const { server } = gateway;
  try {
    await fn(server, gateway.token);
  } finally {
    const pids = server.app.gateway!.list().flatMap((s) => s.pid === null ? [] : [s.pid]);
    await gateway.close();
    for (const pid of pids) assert.deepEqual(livingGroupMembers(pid), [], `group ${pid} left`);
  }
}

Deno.test("gateway API: an admin creates, lists, restarts, reads logs of and stops sessions", async () => {
  await withGateway(async (server, sign) => {
    const base = server.http;
    const admin = await sign({ gateway: "admin" });

    const created = await call(base, "/gateway/sessions?wait=ready", {
      method: "POST",
      token: admin,
      body: JSON.stringify({ id: "a" }),
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const session = created.body.session as Record<string, unknown>;
    assert.equal(session.id, "a");
    assert.equal(session.state, "ready");
    assert.equal(typeof session.pid, "number");

    const again = await call(base, "/gateway/sessions", {
      method: "POST",
      token: admin,
      body: JSON.stringify({ id: "a" }),
    });
    assert.equal(again.status, 200, "creating a running session is a no-op");
    assert.equal((again.body.session as { pid: number }).pid, session.pid);

    const page = await deadline(
      fetch(`${base}/session/a/hello`, { headers: { authorization: `Bearer ${admin}` } }),
      10_000,
      "GET through the gateway",
    );
    assert.equal(page.status, 403, "an admin token is for the API, not for opening sessions");
    await page.body?.cancel();

    const listed = await call(base, "/gateway/sessions", { token: admin });
    assert.deepEqual(
      (listed.body.sessions as { id: string; state: string }[]).map((s) => [s.id, s.state]),
      [["a", "ready"]],
    );

    const logs = await call(base, "/gateway/sessions/a/logs?limit=5", { token: admin });
    assert.equal(logs.status, 200);
    const lines = logs.body.lines as { stream: string; text: string; at: number }[];
    assert.ok(lines.some((l) => l.stream === "stdout" && /listening on \d+/.test(l.text)));
    assert.ok(lines.length <= 5);

    const restarted = await call(base, "/gateway/sessions/a/restart?wait=ready", {
      method: "POST",
      token: admin,
    });
    assert.equal(restarted.status, 200, JSON.stringify(restarted.body));
    const after = restarted.body.session as { state: string; pid: number };
    assert.equal(after.state, "ready");
    assert.notEqual(after.pid, session.pid, "a new process");
    assert.deepEqual(livingGroupMembers(session.pid as number), [], "the old group is gone");

    const stopped = await call(base, "/gateway/sessions/a", { method: "DELETE", token: admin });
    assert.equal(stopped.status, 200);
    assert.equal((stopped.body.session as { state: string }).state, "stopped");
    assert.deepEqual(livingGroupMembers(after.pid), []);

    const broken = await call(base, "/gateway/sessions?wait=ready", {
      method: "POST",
      token: admin,
      body: JSON.stringify({ id: "broken-1" }),
    });
    assert.equal(broken.status, 502, JSON.stringify(broken.body));
    assert.equal(broken.body.error, "ERR_EXITED_BEFORE_READY");
    assert.match(String(broken.body.message), /cannot find module \.\/missing\.js/);

    // The same story in /metrics: a, its restart and broken-1 were started; broken-1 crashed.
    const metrics = await (await fetch(`${server.http}/metrics`)).text();
    const value = (line: string) =>
      Number(new RegExp(`^${line.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(metrics)?.[1]);
    assert.equal(value("switchyard_gateway_process_starts_total"), 3, metrics);
    assert.equal(value("switchyard_gateway_crashes_total"), 1);
    assert.equal(value('switchyard_gateway_sessions{state="stopped"}'), 1);
    assert.equal(value('switchyard_gateway_sessions{state="crashed"}'), 1);
    assert.equal(value('switchyard_gateway_sessions{state="ready"}'), 0);
    assert.equal(value("switchyard_gateway_proxied_total"), 0, "the admin's request was refused");
  });
});

Deno.test("gateway API: a session's token reaches that session only; bad requests are refused clearly", async () => {
  await withGateway(async (server, sign) => {
    const base = server.http;
    const admin = await sign({ gateway: "admin" });
    const ofA = await sign({ sessions: ["a"] });
    for (const id of ["a", "b"]) {
      const res = await call(base, "/gateway/sessions", {
        method: "POST",
        token: admin,
        body: JSON.stringify({ id }),
      });
      assert.equal(res.status, 201);
    }

    const mine = await call(base, "/gateway/sessions", { token: ofA });
    assert.deepEqual((mine.body.sessions as { id: string }[]).map((s) => s.id), ["a"]);
    assert.equal((await call(base, "/gateway/sessions/a", { token: ofA })).status, 200);
    assert.equal((await call(base, "/gateway/sessions/a/logs", { token: ofA })).status, 200);
    const other = await call(base, "/gateway/sessions/b/logs", { token: ofA });
    assert.equal(other.status, 403);
    assert.equal(other.body.error, "ERR_FORBIDDEN");
    assert.equal(
      (await call(base, "/gateway/sessions/b", { method: "DELETE", token: ofA })).status,
      403,
    );
    const create = await call(base, "/gateway/sessions", {
      method: "POST",
      token: ofA,
      body: JSON.stringify({ id: "a" }),
    });
    assert.equal(create.status, 403);
    assert.match(String(create.body.message), /"gateway": "admin"/);

    const cases: [string, RequestInit & { token?: string }, number, string][] = [
      ["/gateway/sessions", {}, 401, "ERR_UNAUTHORIZED"],
      ["/gateway/sessions", { token: "not-a-jwt" }, 401, "ERR_UNAUTHORIZED"],
      ["/gateway/sessions", { headers: { authorization: "Basic eDp5" } }, 401, "ERR_UNAUTHORIZED"],
      ["/gateway/sessions/zz", { token: admin }, 404, "ERR_UNKNOWN_SESSION"],
      ["/gateway/sessions/bad_id!", { token: admin }, 400, "ERR_BAD_SESSION_ID"],
      ["/gateway/nothing", { token: admin }, 404, "ERR_NOT_FOUND"],
      ["/gateway/sessions/a", { token: admin, method: "PUT" }, 405, "ERR_METHOD_NOT_ALLOWED"],
      ["/gateway/sessions/a/logs?limit=-1", { token: admin }, 400, "ERR_BAD_REQUEST"],
      ["/gateway/sessions", { token: admin, method: "POST", body: "{" }, 400, "ERR_BAD_REQUEST"],
      [
        "/gateway/sessions",
        { token: admin, method: "POST", body: '{"id": 7}' },
        400,
        "ERR_BAD_REQUEST",
      ],
      [
        "/gateway/sessions",
        { token: admin, method: "POST", body: JSON.stringify({ id: "x".repeat(5000) }) },
        413,
        "ERR_TOO_LARGE",
      ],
      [
        "/gateway/sessions",
        { token: admin, method: "POST", body: JSON.stringify({ id: "c" }) },
        503,
        "ERR_MAX_SESSIONS",
      ],
    ];
    for (const [path, init, status, error] of cases) {
      const res = await call(base, path, init);
      assert.equal(
        res.status,
        status,
        `${init.method ?? "GET"} ${path}: ${JSON.stringify(res.body)}`,
      );
      assert.equal(res.body.error, error, path);
      assert.ok(String(res.body.message).length > 10, "the message says what to do");
    }
    assert.deepEqual(
      server.app.gateway!.list().map((s) => s.id),
      ["a", "b"],
      "refused requests changed nothing",
    );
  });
});

Deno.test("gateway logs channel: a UI sees a session's lines and state changes live, others are refused", async () => {
  await withGateway(async (server, sign) => {
    const base = server.http;
    const admin = await sign({ gateway: "admin" });
    const ofA = await sign({ sessions: ["a"] });
    const ofB = await sign({ sessions: ["b"] });
    const ui = new SwitchyardClient(base, {
      storage: null,
      transports: ["websocket"],
      token: ofA,
    });
    const adminUi = new SwitchyardClient(base, {
      storage: null,
      transports: ["sse"],
      token: admin,
    });
    const stranger = new SwitchyardClient(base, {
      storage: null,
      transports: ["websocket"],
      token: ofB,
    });
    try {
      const seen: { kind: string; state?: string; text?: string }[] = [];
      const sub = ui.subscribe("gateway-logs:a", {
        onPublication: (p) => seen.push(p.data as (typeof seen)[number]),
      });
      await sub.ready;
      const refused = stranger.subscribe("gateway-logs:a", { onPublication: () => {} });
      await assert.rejects(refused.ready, /No access to the logs of session "a"/);

      const created = await call(base, "/gateway/sessions?wait=ready", {
        method: "POST",
        token: admin,
        body: JSON.stringify({ id: "a" }),
      });
      assert.equal(created.status, 201);
      const res = await fetch(`${base}/session/a/live-line`, {
        headers: { authorization: `Bearer ${ofA}` },
      });
      assert.equal(await res.text(), "hello from a");
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^switchyard_gateway_proxied_total 1$/m);
      assert.match(metrics, /^switchyard_gateway_sessions\{state="ready"\} 1$/m);
      await waitFor(
        () => seen.some((m) => m.kind === "log" && m.text === "GET /session/a/live-line"),
        "the request's log line on the channel",
        10_000,
      );
      assert.deepEqual(
        seen.filter((m) => m.kind === "state").map((m) => m.state),
        ["starting", "ready"],
      );
      assert.ok(seen.some((m) => m.kind === "log" && /listening on/.test(m.text ?? "")));

      await call(base, "/gateway/sessions/a", { method: "DELETE", token: admin });
      await waitFor(
        () => seen.some((m) => m.kind === "state" && m.state === "stopped"),
        "the stopped state on the channel",
        10_000,
      );

      // A UI opened later shows the recent lines, then follows from where they were read.
      const before = await call(base, "/gateway/sessions/a/logs", { token: ofA });
      const position = before.body.position as { offset: number; epoch: string };
      assert.equal(position.offset, seen.length, "the position follows every message so far");
      const later: string[] = [];
      const follower = adminUi.subscribe("gateway-logs:a", {
        since: position,
        onPublication: (p) => later.push((p.data as { state?: string }).state ?? "log"),
      });
      await follower.ready;
      await call(base, "/gateway/sessions?wait=ready", {
        method: "POST",
        token: admin,
        body: JSON.stringify({ id: "a" }),
      });
      await waitFor(() => later.includes("ready"), "the restart on the followed channel", 10_000);
      assert.equal(later[0], "starting", "nothing before the position is repeated");
    } finally {
      await ui.close();
      await adminUi.close();
      await stranger.close();
    }
  });
});
