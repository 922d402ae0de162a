import assert from "node:assert/strict";
import { GatewayService } from "./gateway_service.ts";
import { sessionIdFromHost } from "./_session_route.ts";
import { GatewayError, livingGroupMembers } from "./supervisor.ts";
import {
  deadline,
  devServerCommand,
  devServerScript,
  freePortRange,
  getText,
  quiet,
  serveGateway,
  stateOf,
} from "./_gateway_testing.ts";
import { openClient } from "./_proxy_testing.ts";
import { memoryLogger } from "../../http/_testing.ts";

const BROWSER = { accept: "text/html,application/xhtml+xml,*/*;q=0.8" };

/** Runs `fn` with the dev-server script written to a temporary directory. */
function gatewayTest(name: string, fn: (script: string) => Promise<void>): void {
  Deno.test(name, async () => {
    const script = await devServerScript();
    try {
      await fn(script.path);
    } finally {
      await script.remove();
    }
  });
}

async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof GatewayError, String(error));
    return error.code;
  }
  throw new assert.AssertionError({ message: "Expected a rejection" });
}

async function assertGroupGone(pgid: number): Promise<void> {
  const until = Date.now() + 2000;
  while (livingGroupMembers(pgid).length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual(livingGroupMembers(pgid), [], `group ${pgid} still has members`);
}

gatewayTest("GatewayService routes two sessions side by side by prefix", async (script) => {
  const gw = serveGateway({ command: devServerCommand(script) });
  try {
    await gw.gateway.start("a");
    await gw.gateway.create("b");
    await Promise.all([gw.gateway.ready("a"), gw.gateway.ready("b")]);
    assert.equal((await gw.gateway.start("a")).state, "ready", "start() is idempotent");

    const a = await getText(`${gw.base}/session/a/src/main.ts?import&t=1`);
    assert.equal(a.status, 200);
    assert.equal(a.text, "hello from a /session/a/src/main.ts?import&t=1");
    assert.equal((await getText(`${gw.base}/session/b/`)).text, "hello from b /session/b/");

    const redirect = await fetch(`${gw.base}/session/a?x=1`, { redirect: "manual" });
    await redirect.body?.cancel();
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get("location"), "/session/a/?x=1");

    const client = await openClient(`${gw.ws}/session/b/hmr`);
    client.ws.send("hi");
    assert.equal(await client.next(), "b:hi");

    const rows = gw.gateway.list();
    assert.deepEqual(rows.map((r) => [r.id, r.state]), [["a", "ready"], ["b", "ready"]]);
    assert.notEqual(rows[0].port, rows[1].port);
    assert.ok(rows.every((r) => typeof r.pid === "number" && typeof r.startedAt === "number"));
    assert.ok(gw.gateway.logs("a").some((l) => l.text.includes("listening on")));

    const unknown = await fetch(`${gw.base}/session/c/`);
    assert.equal(unknown.status, 404);
    assert.equal((await unknown.json()).error, "ERR_NOT_STARTED");
    const bad = await fetch(`${gw.base}/session/a%20b/`);
    assert.equal(bad.status, 400);
    assert.equal((await bad.json()).error, "ERR_BAD_SESSION_ID");
    assert.equal(await rejectionCode(gw.gateway.start("../x")), "ERR_BAD_SESSION_ID");

    await gw.gateway.stop("b");
    assert.equal((await client.closed).code, 1001, "stop() closes the session's WebSockets");
    assert.equal(gw.gateway.list()[1].state, "stopped");
    assert.equal(
      (await fetch(`${gw.base}/session/b/`).then((r) => r.json())).error,
      "ERR_NOT_STARTED",
    );
  } finally {
    await gw.close();
  }
});

gatewayTest(
  "GatewayService starts on request: a page that refreshes for browsers, a wait for fetches",
  async (script) => {
    const gw = serveGateway({ command: devServerCommand(script, 400), startOnRequest: true });
    try {
      const page = await getText(`${gw.base}/session/c/`, BROWSER);
      assert.equal(page.status, 503);
      assert.equal(page.headers.get("refresh"), "1");
      assert.match(page.headers.get("content-type") ?? "", /text\/html/);
      assert.match(page.text, /Starting session c…/);
      assert.equal(gw.gateway.list()[0].state, "starting");

      const waited = await getText(`${gw.base}/session/c/x`);
      assert.equal(waited.status, 200);
      assert.equal(waited.text, "hello from c /session/c/x");
      const again = await getText(`${gw.base}/session/c/`, BROWSER);
      assert.equal(again.status, 200, "a ready session is proxied to browsers too");
    } finally {
      await gw.close();
    }
  },
);

gatewayTest("GatewayService refuses sessions past max_sessions and the port range", async (s) => {
  const [first] = freePortRange(3);
  const limited = serveGateway({
    command: devServerCommand(s),
    maxSessions: 1,
    portRange: [first, first + 2],
    startOnRequest: true,
  });
  const oneTaken = new GatewayService({
    command: devServerCommand(s),
    readiness: { type: "tcp" },
    readyTimeoutMs: 15_000,
    idleTimeoutMs: 600_000,
    maxSessions: 5,
    portRange: [first + 1, first + 2],
    startOnRequest: false,
    log: quiet,
  });
  const squatter = Deno.listen({ hostname: "127.0.0.1", port: first + 2 });
  try {
    await limited.gateway.start("a");
    assert.equal(limited.gateway.list()[0].port, first);
    assert.equal(await rejectionCode(limited.gateway.start("b")), "ERR_MAX_SESSIONS");
    const res = await fetch(`${limited.base}/session/b/`);
    assert.equal(res.status, 503);
    assert.equal((await res.json()).error, "ERR_MAX_SESSIONS");

    await oneTaken.start("a");
    assert.equal(oneTaken.list()[0].port, first + 1);
    // first + 2 is held by another program: the bind test skips it.
    assert.equal(await rejectionCode(oneTaken.start("b")), "ERR_PORTS_EXHAUSTED");
    await oneTaken.stop("a");
    assert.equal((await oneTaken.start("b")).port, first + 1, "a stopped session frees its port");
  } finally {
    squatter.close();
    await oneTaken.close();
    await limited.close();
  }
});

gatewayTest("GatewayService stops idle sessions, but not one with an open WebSocket", async (s) => {
  const gw = serveGateway({
    command: devServerCommand(s),
    idleTimeoutMs: 300,
    sweepIntervalMs: 20,
  });
  try {
    await gw.gateway.start("a");
    await gw.gateway.start("b");
    await Promise.all([gw.gateway.ready("a"), gw.gateway.ready("b")]);
    const client = await openClient(`${gw.ws}/session/a/`);
    client.ws.send("ping");
    assert.equal(await client.next(), "a:ping");
    // b's last activity comes after a's, so the sweep that finds b idle finds a idle by time.
    assert.equal((await getText(`${gw.base}/session/b/`)).status, 200);
    await stateOf(gw.gateway, "b", "stopped", 5000);
    assert.equal(gw.gateway.list().find((r) => r.id === "a")?.state, "ready");

    client.ws.close();
    await client.closed;
    await stateOf(gw.gateway, "a", "stopped", 5000);
  } finally {
    await gw.close();
  }
});

gatewayTest("GatewayService restarts a crashed session and routes to it again", async (s) => {
  const gw = serveGateway({ command: devServerCommand(s) });
  try {
    await gw.gateway.start("a");
    await gw.gateway.ready("a");
    const pid = gw.gateway.list()[0].pid!;
    const crashes: (string | undefined)[] = [];
    gw.gateway.onState((_id, state, detail) => {
      if (state === "crashed") crashes.push(detail.error?.code);
    });
    const crashed = stateOf(gw.gateway, "a", "crashed");
    Deno.kill(pid, "SIGKILL");
    await crashed;
    await stateOf(gw.gateway, "a", "ready");
    assert.deepEqual(crashes, ["ERR_EXITED"]);
    assert.notEqual(gw.gateway.list()[0].pid, pid);
    assert.equal((await getText(`${gw.base}/session/a/`)).text, "hello from a /session/a/");
    await assertGroupGone(pid);
  } finally {
    await gw.close();
  }
});

Deno.test("GatewayService answers 502 with the last log lines when the command exits early", async () => {
  const gw = serveGateway({
    command: ["sh", "-c", "echo 'compiling {id}'; echo '<b>Error: no vite.config</b>' >&2; exit 3"],
    startOnRequest: true,
  });
  try {
    const res = await deadline(fetch(`${gw.base}/session/a/`), "502");
    assert.equal(res.status, 502);
    const body = await res.json();
    assert.equal(body.error, "ERR_EXITED_BEFORE_READY");
    assert.match(body.message, /exited with code 3/);
    assert.match(body.message, /compiling a/);
    assert.match(body.message, /<b>Error: no vite\.config<\/b>/);

    const page = await getText(`${gw.base}/session/a/`, BROWSER);
    assert.equal(page.status, 502, "a failed session stays failed until started explicitly");
    assert.match(page.text, /&#60;b&#62;Error: no vite\.config&#60;\/b&#62;/);
    assert.doesNotMatch(page.text, /<b>/);
    assert.equal(gw.gateway.list()[0].state, "crashed");
  } finally {
    await gw.close();
  }
});

gatewayTest("GatewayService.close() leaves no process of any session's group", async (s) => {
  const gw = serveGateway({
    command: ["sh", "-c", `sleep 600 & exec "$0" "$@"`, ...devServerCommand(s)],
  });
  let pids: number[] = [];
  try {
    await Promise.all(["a", "b"].map((id) => gw.gateway.start(id)));
    await Promise.all(["a", "b"].map((id) => gw.gateway.ready(id)));
    pids = gw.gateway.list().map((r) => r.pid!);
    for (const pid of pids) {
      assert.equal(livingGroupMembers(pid).length, 3, "server, sleep and the watchdog's watcher");
    }
  } finally {
    await gw.close();
  }
  for (const pid of pids) await assertGroupGone(pid);
  assert.deepEqual(gw.gateway.list().map((r) => r.state), ["stopped", "stopped"]);
  assert.equal(await rejectionCode(gw.gateway.start("c")), "ERR_GATEWAY_CLOSED");
});

Deno.test("sessionIdFromHost() takes the one label before the suffix, in any case and port", () => {
  const suffix = "dev.example.com";
  const cases: [string, string | undefined][] = [
    ["a.dev.example.com", "a"],
    ["A.Dev.EXAMPLE.com:8443", "a"],
    ["team-7.dev.example.com.", "team-7"],
    ["a_b.dev.example.com", "a_b"], // the gateway's to refuse (400), not the app's
    ["dev.example.com", undefined],
    [".dev.example.com", undefined],
    ["x.a.dev.example.com", undefined],
    ["adev.example.com", undefined],
    ["a.dev.example.com.evil.net", undefined],
    ["a.dev.example.com:x", undefined],
    ["127.0.0.1:4433", undefined],
    ["[::1]:4433", undefined],
    ["", undefined],
  ];
  for (const [host, id] of cases) assert.equal(sessionIdFromHost(host, suffix), id, host);
  assert.equal(sessionIdFromHost("a.localhost:9000", "localhost"), "a");
  assert.equal(sessionIdFromHost("a.dev.example.com", "Dev.Example.com"), "a");
});

/** A request as the server's host route hands it over: `host` apart from the URL. */
function viaHost(gateway: GatewayService, host: string, path: string, headers: HeadersInit = {}) {
  const url = new URL(path, "http://127.0.0.1:9/");
  return deadline(
    gateway.handle(new Request(url, { headers }), {
      url,
      remoteAddress: "127.0.0.1",
      secure: false,
      host,
    }),
    `${host}${path}`,
    20_000,
  );
}

gatewayTest(
  "GatewayService with subdomainSuffix proxies every path of {id}.{suffix} as is",
  async (s) => {
    const gw = serveGateway({ command: devServerCommand(s), subdomainSuffix: "dev.test" });
    try {
      assert.equal(gw.gateway.servesHost("a.dev.test:8080"), true);
      assert.equal(gw.gateway.servesHost("dev.test:8080"), false);
      await gw.gateway.start("a");
      await gw.gateway.ready("a");

      const deep = await viaHost(gw.gateway, "A.dev.test:8080", "/session/a/x.js?import&t=1");
      assert.equal(deep.status, 200);
      assert.equal(await deep.text(), "hello from a /session/a/x.js?import&t=1");
      const root = await viaHost(gw.gateway, "a.dev.test", "/switchyard/ws");
      assert.equal(root.status, 404, "the dev server itself answers, path unchanged");
      assert.equal(await root.text(), "not under my base");

      const onMain = await viaHost(gw.gateway, "dev.test", "/session/a/");
      assert.equal(onMain.status, 404);
      const body = await onMain.json();
      assert.equal(body.error, "ERR_NOT_FOUND");
      assert.match(body.message, /each session has its own host, \{id\}\.dev\.test$/);

      const bad = await viaHost(gw.gateway, "a_b.dev.test", "/");
      assert.equal(bad.status, 400);
      assert.equal((await bad.json()).error, "ERR_BAD_SESSION_ID");
      const stopped = await viaHost(gw.gateway, "c.dev.test", "/", BROWSER);
      assert.equal(stopped.status, 404);
      assert.match(await stopped.text(), /<h1>Session c failed<\/h1>[^]*ERR_NOT_STARTED/);
    } finally {
      await gw.close();
    }
    const byPath = serveGateway({ command: devServerCommand(s) });
    await byPath.close();
    assert.equal(byPath.gateway.servesHost("a.dev.test"), false, "path routing serves no host");
  },
);

gatewayTest(
  "GatewayService with subdomainSuffix shows the starting page, then proxies",
  async (s) => {
    const gw = serveGateway({
      command: devServerCommand(s, 400),
      subdomainSuffix: "dev.test",
      startOnRequest: true,
    });
    try {
      const page = await viaHost(gw.gateway, "c.dev.test", "/", BROWSER);
      assert.equal(page.status, 503);
      assert.equal(page.headers.get("refresh"), "1");
      assert.match(await page.text(), /Starting session c…/);
      const waited = await viaHost(gw.gateway, "c.dev.test", "/session/c/");
      assert.equal(await waited.text(), "hello from c /session/c/");
    } finally {
      await gw.close();
    }
  },
);

Deno.test("GatewayService with subdomainSuffix answers 502 with the last log lines", async () => {
  const gw = serveGateway({
    command: ["sh", "-c", "echo 'compiling {id}'; exit 3"],
    subdomainSuffix: "dev.test",
    startOnRequest: true,
  });
  try {
    const res = await viaHost(gw.gateway, "a.dev.test", "/");
    assert.equal(res.status, 502);
    const body = await res.json();
    assert.equal(body.error, "ERR_EXITED_BEFORE_READY");
    assert.match(body.message, /compiling a/);
  } finally {
    await gw.close();
  }
});

gatewayTest("GatewayService warns when a session listens beyond loopback", async (script) => {
  const log = memoryLogger();
  const gw = serveGateway({ command: [...devServerCommand(script), "0", "0.0.0.0"], log });
  try {
    await gw.gateway.start("open");
    await gw.gateway.ready("open");
    const warning = log.lines.find((l) => l.level === "warn");
    assert.match(warning?.msg ?? "", /beyond loopback.*--host 127\.0\.0\.1/);
  } finally {
    await gw.close();
  }
  const quietLog = memoryLogger();
  const local = serveGateway({ command: devServerCommand(script), log: quietLog });
  try {
    await local.gateway.start("closed");
    await local.gateway.ready("closed");
    assert.deepEqual(quietLog.lines.filter((l) => l.level === "warn"), []);
  } finally {
    await local.close();
  }
});
