import assert from "node:assert/strict";
import { SwitchyardError } from "../../core/errors.ts";
import { createGatewayApi, type GatewayControl } from "./admin_api.ts";
import { gatewayLogsNamespace, publishGatewayLogs } from "./gateway_logs.ts";
import type { SessionInfo } from "./gateway_service.ts";
import { GatewayError, type LogLine, type SessionState, type StateDetail } from "./supervisor.ts";

/** The sessions of a gateway without processes: the API's own logic is under test here. */
function fakeGateway(ids: string[]): GatewayControl {
  const info = (id: string): SessionInfo => ({
    id,
    state: "ready",
    port: 41000,
    pid: 1,
    startedAt: 0,
    lastActivity: 0,
  });
  return {
    start: (id) => Promise.resolve(info(id)),
    ready: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    restart: (id) => Promise.resolve(info(id)),
    list: () => ids.map(info),
    logs: () => [],
  };
}

function api(anonymous: boolean, connect: (token: string) => Promise<never> | Promise<object>) {
  return createGatewayApi({
    gateway: fakeGateway(["a"]),
    authenticator: { connect: connect as never },
    anonymous,
    readyLimitMs: 1000,
    logPosition: () => Promise.resolve({ offset: 0, epoch: "e" }),
  });
}

const at = (path: string, remoteAddress: string) => ({
  url: new URL(`http://h${path}`),
  remoteAddress,
});

Deno.test("gateway API: anonymous mode opens the API to loopback clients only", async () => {
  const open = api(true, () => Promise.reject(new SwitchyardError("ERR_UNAUTHORIZED", "no")));
  for (const address of ["127.0.0.1", "::1", "::ffff:127.0.0.1"]) {
    const res = await open(
      new Request("http://h/gateway/sessions"),
      at("/gateway/sessions", address),
    );
    assert.equal(res.status, 200, address);
    assert.equal((await res.json()).sessions.length, 1);
  }
  const remote = await open(
    new Request("http://h/gateway/sessions"),
    at("/gateway/sessions", "10.0.0.7"),
  );
  assert.equal(remote.status, 401);
  const closed = api(false, () => Promise.reject(new SwitchyardError("ERR_UNAUTHORIZED", "no")));
  const local = await closed(
    new Request("http://h/gateway/sessions"),
    at("/gateway/sessions", "127.0.0.1"),
  );
  assert.equal(local.status, 401, "without anonymous, loopback needs a token too");
});

Deno.test("gateway API: a key source that is down is a 503, an expired token a 401", async () => {
  const down = api(
    false,
    () => Promise.reject(new SwitchyardError("ERR_UNAVAILABLE", "JWKS unreachable")),
  );
  const req = () =>
    new Request("http://h/gateway/sessions", { headers: { authorization: "Bearer t" } });
  const res = await down(req(), at("/gateway/sessions", "10.0.0.7"));
  assert.equal(res.status, 503);
  assert.equal((await res.json()).error, "ERR_UNAVAILABLE");
  const expired = api(
    false,
    () => Promise.reject(new SwitchyardError("ERR_TOKEN_EXPIRED", "expired")),
  );
  const late = await expired(req(), at("/gateway/sessions", "10.0.0.7"));
  assert.equal(late.status, 401);
  assert.equal((await late.json()).error, "ERR_TOKEN_EXPIRED");
});

Deno.test("gateway logs: the guard admits admins and the session's holders only", () => {
  const guard = gatewayLogsNamespace(false).guard!;
  const who = (claims: Record<string, unknown>) => ({ user: "u", session: "s", claims });
  guard("gateway-logs:a", who({ gateway: "admin" }));
  guard("gateway-logs:team-1", who({ sessions: ["team-*"] }));
  assert.throws(() => guard("gateway-logs:a", who({ sessions: ["b"] })), /ERR_FORBIDDEN|No access/);
  assert.throws(() => guard("gateway-logs:a", who({ gateway: "viewer" })), /No access/);
  gatewayLogsNamespace(true).guard!("gateway-logs:a", who({}));
  assert.equal(gatewayLogsNamespace(false).publish, false, "clients never publish log lines");
});

Deno.test("gateway logs: lines and state changes go out in order, and a failed publish does not stop the rest", async () => {
  let logFn: (id: string, line: LogLine) => void = () => {};
  let stateFn: (id: string, state: SessionState, detail: StateDetail) => void = () => {};
  const sent: [string, unknown][] = [];
  const errors: unknown[] = [];
  const stop = publishGatewayLogs(
    {
      onLog: (fn) => (logFn = fn, () => logFn = () => {}),
      onState: (fn) => (stateFn = fn, () => stateFn = () => {}),
    },
    (channel, data) => {
      if ((data as { text?: string }).text === "bad") return Promise.reject(new Error("down"));
      sent.push([channel, data]);
      return Promise.resolve();
    },
    { now: () => 7, onError: (e) => errors.push(e) },
  );
  stateFn("a", "starting", {});
  logFn("a", { stream: "stdout", text: "bad", at: 1 });
  logFn("a", { stream: "stderr", text: "oops", at: 2 });
  const crash = new GatewayError("ERR_EXITED", "exited with code 1");
  stateFn("a", "crashed", { error: crash, restartInMs: 500 });
  await Promise.resolve();
  assert.deepEqual(sent, [
    ["gateway-logs:a", { kind: "state", state: "starting", at: 7 }],
    ["gateway-logs:a", { kind: "log", stream: "stderr", text: "oops", at: 2 }],
    ["gateway-logs:a", {
      kind: "state",
      state: "crashed",
      at: 7,
      error: { code: "ERR_EXITED", message: "exited with code 1" },
      restartInMs: 500,
    }],
  ]);
  assert.equal(errors.length, 1);
  stop();
  logFn("a", { stream: "stdout", text: "after", at: 3 });
  assert.equal(sent.length, 3, "nothing is published once stopped");
});
