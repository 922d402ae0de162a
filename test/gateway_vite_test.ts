/**
 * The session gateway of a real Switchyard with a real Vite per session and a real Chromium:
 * two sessions side by side under `/session/a/` and `/session/b/`, each opened by its token
 * link, hot updates through the proxy, b's token refused by a, a dev server killed from
 * outside, and no process left after the server closes.
 */
import assert from "node:assert/strict";
import type { Browser, ConsoleMessage, Page, WebSocket as PageWebSocket } from "playwright-core";
import { signToken } from "../src/auth/mod.ts";
import { livingGroupMembers } from "../src/services/gateway/supervisor.ts";
import { launchBrowser } from "./_browser.ts";
import { deadline } from "./_deadline.ts";
import { startTestServer } from "./_server.ts";
import {
  counterSource,
  ensureVite,
  indexSource,
  saveFile,
  viteGatewayToml,
  writeViteProject,
} from "./_vite.ts";

const SECRET = "gateway-vite-test-secret-0123456789abcdef";
const STEP_MS = 15_000;

/** A port range of `size` starting somewhere random, so parallel test files rarely collide. */
function randomPortRange(size: number): [number, number] {
  const first = 20_000 + Math.floor(Math.random() * 30_000);
  return [first, first + size - 1];
}

interface SessionPage {
  page: Page;
  console: string[];
  /** URLs of the page's WebSockets, in the order they opened. */
  sockets: string[];
  loads: number;
}

async function watchPage(browser: Browser): Promise<SessionPage> {
  const page = await browser.newPage();
  const watched: SessionPage = { page, console: [], sockets: [], loads: 0 };
  page.on("console", (m: ConsoleMessage) => watched.console.push(m.text()));
  page.on("websocket", (ws: PageWebSocket) => watched.sockets.push(ws.url()));
  page.on("load", () => watched.loads++);
  return watched;
}

function counterText(page: Page, text: string, what: string): Promise<unknown> {
  const expression = `document.querySelector("#counter")?.textContent === ${JSON.stringify(text)}`;
  return page.waitForFunction(expression, null, { timeout: STEP_MS }).catch((error) => {
    throw new Error(`${what}: ${error.message}`);
  });
}

function marker(page: Page): Promise<string | undefined> {
  return page.evaluate(() => (globalThis as { marker?: string }).marker);
}

function setMarker(page: Page, value: string): Promise<void> {
  return page.evaluate((v) => {
    (globalThis as { marker?: string }).marker = v;
  }, value);
}

/** Resolves once `lines` has a line containing `text`; the page pushes lines as they come. */
async function consoleLine(lines: string[], text: string, what: string, from = 0) {
  await deadline(
    (async () => {
      while (!lines.slice(from).some((l) => l.includes(text))) {
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
    STEP_MS,
    `${what}: no "${text}" in ${JSON.stringify(lines.slice(from))}`,
  );
}

/**
 * Vite's client falls back to a WebSocket straight to Vite's own port when the one through
 * the page's host fails, which on one machine would hide a broken proxy: every WebSocket the
 * page opened (HMR and the pings after a lost connection) must have gone to the gateway.
 */
function throughGateway(p: SessionPage, id: string): void {
  const prefix = `${origin(p)}/session/${id}/`;
  assert.ok(p.sockets.length > 0, `page ${id} opened no WebSocket`);
  for (const url of p.sockets) assert.ok(url.startsWith(prefix), `${url} bypassed the gateway`);
  const fallback = p.console.find((l) => l.includes("Direct websocket connection fallback"));
  assert.equal(fallback, undefined, `page ${id} fell back to Vite's own port`);
}

function origin(p: SessionPage): string {
  return new URL(p.page.url()).origin.replace(/^http/, "ws");
}

async function groupGone(pgid: number): Promise<number[]> {
  const until = Date.now() + 5000;
  while (livingGroupMembers(pgid).length > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return livingGroupMembers(pgid);
}

Deno.test({
  name: "Switchyard's gateway serves two Vite sessions with HMR in Chromium, each to its own token",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const installMs = await ensureVite();
    if (installMs > 0) console.log(`npm ci of Vite took ${Math.round(installMs)} ms`);
    const root = await Deno.makeTempDir({ prefix: "switchyard-vite-" });
    await writeViteProject(`${root}/a`, "a", "a:v1");
    await writeViteProject(`${root}/b`, "b", "b:v1");
    const [low, high] = randomPortRange(20);
    const server = await startTestServer({
      toml: viteGatewayToml(root, [low, high], {
        secret: SECRET,
        readyTimeoutMs: 20_000,
        maxSessions: 4,
      }),
    });
    const gateway = server.app.gateway!;
    const origin = server.http;
    const [tokenA, tokenB] = await Promise.all(
      [["a"], ["b"]].map((sessions) =>
        signToken({ sub: "tester", sessions }, { secret: SECRET, alg: "HS256" })
      ),
    );
    let browser: Browser | undefined;
    const pgids = new Set<number>();
    try {
      browser = await launchBrowser();
      const a = await watchPage(browser);
      const b = await watchPage(browser);

      await t.step("each token link starts its session", async () => {
        // The link sets the session's cookie; then comes the self-refreshing "Starting" page.
        await Promise.all([
          a.page.goto(`${origin}/session/a/?token=${tokenA}`),
          b.page.goto(`${origin}/session/b/?token=${tokenB}`),
        ]);
        assert.equal(new URL(a.page.url()).search, "", "the token left the address bar");
        await counterText(a.page, "a:v1", "page a rendered");
        await counterText(b.page, "b:v1", "page b rendered");
        await consoleLine(a.console, "[vite] connected.", "page a's HMR connected");
        await consoleLine(b.console, "[vite] connected.", "page b's HMR connected");
        throughGateway(a, "a");
        throughGateway(b, "b");
        for (const s of gateway.list()) pgids.add(s.pid!);
        assert.equal(pgids.size, 2);
      });

      await t.step("editing a module of session a hot-updates page a only", async () => {
        await setMarker(a.page, "a-before-edit");
        await setMarker(b.page, "b-before-edit");
        const loadsA = a.loads;
        const loadsB = b.loads;
        const bConsole = b.console.length;
        await saveFile(`${root}/a/counter.js`, counterSource("a:v2"));
        await counterText(a.page, "a:v2", "page a hot-updated");
        await consoleLine(a.console, "[vite] hot updated: /counter.js", "Vite's log");
        assert.equal(await marker(a.page), "a-before-edit", "page a was not reloaded");
        assert.equal(a.loads, loadsA);
        assert.equal(await b.page.textContent("#counter"), "b:v1");
        assert.equal(await marker(b.page), "b-before-edit");
        assert.equal(b.loads, loadsB);
        assert.deepEqual(b.console.slice(bConsole), [], "page b heard nothing");
      });

      await t.step("b's token cannot open session a", async () => {
        const fromB = await b.page.evaluate(async () => (await fetch("/session/a/")).status);
        assert.equal(fromB, 401, "b's cookie is scoped to /session/b/");
        const intruder = await browser!.newPage();
        try {
          const res = await intruder.goto(`${origin}/session/a/?token=${tokenB}`);
          assert.equal(res?.status(), 403);
          assert.equal(await intruder.textContent("h1"), "No access to session a");
        } finally {
          await intruder.close();
        }
      });

      await t.step("editing session a's index.html reloads page a", async () => {
        const reloaded = a.page.waitForEvent("load", { timeout: STEP_MS });
        await saveFile(`${root}/a/index.html`, indexSource("a", "session a, edited"));
        await reloaded;
        assert.equal(await marker(a.page), undefined, "page a was reloaded");
        assert.equal(await a.page.title(), "session a, edited");
        await counterText(a.page, "a:v2", "page a after the reload");
        assert.equal(await marker(b.page), "b-before-edit");
      });

      await t.step("a Vite killed from outside is restarted and page a recovers", async () => {
        const before = gateway.list().find((s) => s.id === "a")!;
        assert.equal(before.state, "ready");
        await consoleLine(a.console, "[vite] connected.", "page a's HMR connected");
        await setMarker(a.page, "a-before-kill");
        const reconnectFrom = a.console.length;
        const reloaded = a.page.waitForEvent("load", { timeout: STEP_MS });
        Deno.kill(before.pid!, "SIGKILL");
        await reloaded;
        const after = gateway.list().find((s) => s.id === "a")!;
        assert.equal(after.state, "ready");
        assert.notEqual(after.pid, before.pid);
        assert.equal(after.port, before.port);
        pgids.add(after.pid!);
        assert.deepEqual(await groupGone(before.pid!), [], "the killed Vite's group is empty");
        assert.ok(
          a.console.slice(reconnectFrom).some((l) => l.includes("server connection lost")),
          `page a noticed the lost server: ${a.console.slice(reconnectFrom)}`,
        );
        assert.equal(await marker(a.page), undefined);
        await counterText(a.page, "a:v2", "page a after the restart");
        await consoleLine(a.console, "[vite] connected.", "reconnected", reconnectFrom);

        await setMarker(a.page, "a-after-restart");
        await saveFile(`${root}/a/counter.js`, counterSource("a:v3"));
        await counterText(a.page, "a:v3", "page a hot-updated by the new Vite");
        assert.equal(await marker(a.page), "a-after-restart");
        assert.equal(await b.page.textContent("#counter"), "b:v1");
        assert.equal(await marker(b.page), "b-before-edit");
        throughGateway(a, "a");
      });

      await t.step("closing the server leaves no process of any session", async () => {
        await server.close();
        for (const pgid of pgids) {
          assert.deepEqual(livingGroupMembers(pgid), [], `group ${pgid} survived close()`);
        }
      });
    } finally {
      await browser?.close();
      await server.close();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
