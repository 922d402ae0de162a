/**
 * End to end in headless Chromium: the bundled client served by a real
 * Switchyard, over each transport, with fallbacks and forced switches.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchBrowser } from "./_browser.ts";
import { startTestServer, type TestServer } from "./_server.ts";

/** A page on the server's origin with the client module loaded as `globalThis.sy`. */
async function clientPage(browser: Browser, server: TestServer): Promise<Page> {
  const page = await browser.newPage();
  page.on("pageerror", (e) => console.error("pageerror:", e.message));
  await page.goto(`${server.http}/healthz`);
  await page.evaluate(async () => {
    // deno-lint-ignore no-explicit-any
    (globalThis as any).sy = await import("/switchyard/client.js");
  });
  return page;
}

function withBrowser(
  name: string,
  fn: (browser: Browser, server: TestServer) => Promise<void>,
  browserArgs: string[] = [],
) {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const server = await startTestServer();
      const browser = await launchBrowser(browserArgs);
      try {
        await fn(browser, server);
      } finally {
        await browser.close();
        await server.close();
      }
    },
  });
}

withBrowser("Chromium: each transport connects and exchanges messages", async (browser, server) => {
  const page = await clientPage(browser, server);
  for (const kind of ["webtransport", "websocket", "sse"]) {
    const result = await page.evaluate(async (kind) => {
      // deno-lint-ignore no-explicit-any
      const { SwitchyardClient } = (globalThis as any).sy;
      const client = new SwitchyardClient(location.origin, { transports: [kind], storage: null });
      const got = new Promise((resolve) => {
        client.subscribe(`test:echo-${kind}`, {
          onPublication: (p: { data: unknown }) => resolve(p.data),
        });
      });
      const ack = await client.publish(`test:echo-${kind}`, { hello: kind });
      const data = await got;
      const rpc = await client.rpc("echo", { n: 1 });
      const transport = client.transport;
      const m = client.metrics();
      await client.close();
      return { data, ack, transport, rpc, rttMs: m.rttMs, messagesIn: m.messagesIn };
    }, kind);
    assert.equal(result.transport, kind);
    assert.deepEqual(result.data, { hello: kind });
    assert.equal(result.ack.offset, 1);
    assert.deepEqual(result.rpc, { n: 1 });
    assert.ok(result.messagesIn >= 3);
  }
});

withBrowser(
  "Chromium: with WebTransport blocked the client is on WebSocket, then SSE with WebSocket blocked too",
  async (browser, server) => {
    const page = await clientPage(browser, server);
    // UDP blocked: the bootstrap sends WebTransport to a UDP port where nothing listens, so
    // Chromium's QUIC handshake fails for real.
    const dead = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const deadPort = (dead.addr as Deno.NetAddr).port;
    dead.close();
    await page.route("**/switchyard/bootstrap.json", async (route) => {
      const response = await route.fetch();
      const doc = await response.json();
      const wt = new URL(doc.transports.webtransport.url);
      wt.port = String(deadPort);
      doc.transports.webtransport.url = wt.href;
      await route.fulfill({ response, json: doc });
    });
    const ws = await page.evaluate(async () => {
      // deno-lint-ignore no-explicit-any
      const { SwitchyardClient } = (globalThis as any).sy;
      const client = new SwitchyardClient(location.origin, {
        storage: null,
        attemptTimeoutMs: 3000,
      });
      const fallbacks: unknown[] = [];
      client.on("fallback", (e: unknown) => fallbacks.push(e));
      const started = performance.now();
      await client.connect();
      const elapsed = performance.now() - started;
      const out = { transport: client.transport, elapsed, fallbacks, metrics: client.metrics() };
      await client.close();
      return out;
    });
    assert.equal(ws.transport, "websocket");
    assert.ok(ws.elapsed < 3500, `on WebSocket after ${ws.elapsed} ms`);
    assert.ok(ws.metrics.fallbacks >= 1);

    // A proxy that accepts the WebSocket and never forwards anything: only the attempt timeout helps.
    await page.routeWebSocket(/\/switchyard\/ws/, () => {});
    const sse = await page.evaluate(async () => {
      // deno-lint-ignore no-explicit-any
      const { SwitchyardClient } = (globalThis as any).sy;
      const client = new SwitchyardClient(location.origin, {
        storage: null,
        attemptTimeoutMs: 1500,
      });
      const started = performance.now();
      await client.connect();
      const elapsed = performance.now() - started;
      const got = new Promise((resolve) => {
        client.subscribe("test:sse-fallback", {
          onPublication: (p: { data: unknown }) => resolve(p.data),
        });
      });
      await client.publish("test:sse-fallback", "via sse");
      const out = { transport: client.transport, elapsed, data: await got };
      await client.close();
      return out;
    });
    assert.equal(sse.transport, "sse");
    assert.ok(sse.elapsed < 2 * 1500 + 1000, `on SSE after ${sse.elapsed} ms`);
    assert.equal(sse.data, "via sse");
  },
);

withBrowser(
  "Chromium: 10,000 publications arrive complete and in order across WT → WS → SSE → WT, 1,000 publishes applied once",
  async (browser, server) => {
    const page = await clientPage(browser, server);
    const TOTAL = 10_000;
    const SENDS = 1_000;
    await page.evaluate(({ SENDS }) => {
      // deno-lint-ignore no-explicit-any
      const g = globalThis as any;
      const client = new g.sy.SwitchyardClient(location.origin, { storage: null });
      const offsets: number[] = [];
      const switches: string[] = [];
      g.run = { offsets, switches, segments: [], acked: 0, errors: [] as string[] };
      client.subscribe("test:stream", {
        onPublication: (p: { offset: number }) => {
          offsets.push(p.offset);
          const t = client.transport ?? "none";
          const last = g.run.segments.at(-1);
          if (last?.[0] === t) last[1] += 1;
          else g.run.segments.push([t, 1]);
        },
      });
      g.force = (kind: string) =>
        client.forceTransport(kind).then(
          () => switches.push(`${kind}:${client.transport}`),
          (e: Error) => g.run.errors.push(`switch ${kind}: ${e.message}`),
        );
      g.run.ready = client.connect().then(async () => {
        const sends = [];
        for (let i = 0; i < SENDS; i++) {
          sends.push(client.publish("test:client", i).then(() => g.run.acked++));
          if (i % 50 === 49) await new Promise((r) => setTimeout(r, 20));
        }
        await Promise.all(sends);
      }).catch((e: Error) => g.run.errors.push(e.message));
      g.client = client;
    }, { SENDS });
    await page.waitForFunction(() =>
      (globalThis as unknown as { client: { state: string } }).client.state === "connected"
    );

    // Four phases of 2,500 publications. Each switch starts while publications are flowing, and
    // the next phase waits until the switch is done, so every transport carries part of the stream.
    let published = 0;
    const publish = async (count: number) => {
      for (let i = 0; i < count; i += 100) {
        const batch = [];
        for (let j = 0; j < 100; j++) {
          batch.push(server.app.hub.publish("test:stream", { n: ++published }));
        }
        await Promise.all(batch);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const phases = [null, "websocket", "sse", "webtransport"];
    for (const [i, kind] of phases.entries()) {
      if (kind) {
        await page.evaluate((kind) => {
          (globalThis as unknown as { force(k: string): void }).force(kind);
        }, kind);
        await publish(500);
        await page.waitForFunction(
          (n) =>
            (globalThis as unknown as { run: { switches: string[] } }).run.switches.length >= n,
          i,
          { timeout: 30_000 },
        );
      }
      await publish(kind ? 2000 : 2500);
    }
    await page.waitForFunction(
      ({ TOTAL, SENDS }) => {
        // deno-lint-ignore no-explicit-any
        const run = (globalThis as any).run;
        return run.offsets.length >= TOTAL && run.acked >= SENDS && run.switches.length >= 3;
      },
      { TOTAL, SENDS },
      { timeout: 60_000 },
    );
    const run = await page.evaluate(() => {
      // deno-lint-ignore no-explicit-any
      const g = globalThis as any;
      return {
        segments: g.run.segments,
        offsets: g.run.offsets,
        switches: g.run.switches,
        errors: g.run.errors,
        metrics: g.client.metrics(),
      };
    });
    assert.deepEqual(run.errors, []);
    assert.deepEqual(run.switches, ["websocket:websocket", "sse:sse", "webtransport:webtransport"]);
    assert.equal(run.offsets.length, TOTAL);
    // Publications flowed over each transport in turn, not all before the first switch.
    assert.deepEqual(
      run.segments.map(([t]: [string, number]) => t),
      ["webtransport", "websocket", "sse", "webtransport"],
      JSON.stringify(run.segments),
    );
    for (let i = 0; i < TOTAL; i++) {
      if (run.offsets[i] !== i + 1) assert.fail(`offset #${i} is ${run.offsets[i]}, want ${i + 1}`);
    }
    const { publications } = await server.app.hub.history("test:client", {
      since: {
        offset: 0,
        epoch: (await server.app.hub.history("test:client", { limit: 0 })).top.epoch,
      },
      limit: 20_000,
    });
    const values = publications.map((p) => p.data as number).sort((a, b) => a - b);
    assert.equal(values.length, SENDS, "each client publish applied exactly once");
    assert.deepEqual(values, Array.from({ length: SENDS }, (_, i) => i));
  },
);

Deno.test({
  name: "Chromium: the status page on http://localhost connects over WebTransport by default",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const server = await startTestServer({ flags: { host: "localhost" } });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const url = server.app.server.httpUrl!;
      assert.match(url, /^http:\/\/localhost:\d+$/);
      await page.goto(`${url}/`);
      await page.waitForFunction(
        () =>
          (globalThis as unknown as { switchyard?: { state: string } }).switchyard?.state ===
            "connected",
        null,
        { timeout: 10_000 },
      );
      const transport = await page.evaluate(() =>
        (globalThis as unknown as { switchyard: { transport: string } }).switchyard.transport
      );
      assert.equal(transport, "webtransport");
      const remembered = await page.evaluate(() =>
        (globalThis as unknown as { localStorage: { getItem(k: string): string | null } })
          .localStorage.getItem(`switchyard:transport:${location.origin}`)
      );
      assert.match(remembered ?? "", /webtransport/, "the winner is remembered per origin");
      await page.fill("#text", "hello from the status page");
      await page.click("#send button");
      await page.waitForFunction(
        () =>
          (globalThis as unknown as {
            document: { getElementById(id: string): { innerText: string } };
          }).document.getElementById("log").innerText.includes("hello from the status page"),
        null,
        { timeout: 5_000 },
      );
    } finally {
      await browser.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "Chromium: the README's page example runs as written",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
    const html = readme.match(/```html\n([\s\S]*?)```/)?.[1];
    assert.ok(html, "README has an html example");
    // Served by Switchyard itself (public_dir): a page that Chromium did not get from a local
    // address would be refused loopback connections by its local network access checks.
    const dir = await Deno.makeTempDir();
    const server = await startTestServer({ env: { SWITCHYARD_PUBLIC_DIR: dir } });
    await Deno.writeTextFile(
      `${dir}/readme-example.html`,
      html.replaceAll("http://localhost:4480", server.http),
    );
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const logs: string[] = [];
      const seen = Promise.withResolvers<void>();
      page.on("console", (m) => {
        logs.push(m.text());
        if (logs.includes("webtransport") && logs.some((l) => l.startsWith("1 "))) seen.resolve();
      });
      page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`));
      await page.goto(`${server.http}/readme-example.html`);
      const timeout = setTimeout(
        () => seen.reject(new Error(`Not logged in 10 s: ${logs}`)),
        10_000,
      );
      try {
        await seen.promise;
      } finally {
        clearTimeout(timeout);
      }
      assert.ok(logs.some((l) => /^1 .*hello/.test(l)), `the publication was logged: ${logs}`);
    } finally {
      await browser.close();
      await server.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
