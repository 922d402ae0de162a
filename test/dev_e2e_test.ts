/**
 * `switchyard dev` as a user runs it: a real process serving a folder, a real
 * Chromium page, real file saves.
 */
import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { launchBrowser } from "./_browser.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;

interface DevProcess {
  url: string;
  dir: string;
  lines: string[];
  stop(): Promise<void>;
}

async function startDev(): Promise<DevProcess> {
  const dir = await Deno.makeTempDir({ prefix: "switchyard-site-" });
  const certDir = await Deno.makeTempDir({ prefix: "switchyard-certs-" });
  await Deno.writeTextFile(
    `${dir}/index.html`,
    '<!doctype html><html><head><title>site</title><link rel="stylesheet" href="style.css">' +
      '</head><body><h1 id="h">one</h1><script src="app.js"></script></body></html>',
  );
  await Deno.writeTextFile(`${dir}/style.css`, "h1 { color: rgb(255, 0, 0); }");
  await Deno.writeTextFile(`${dir}/app.js`, "globalThis.appVersion = 1;");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--unstable-net",
      MAIN,
      "dev",
      dir,
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--http-port",
      "0",
      "--cert-dir",
      certDir,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const url = Promise.withResolvers<string>();
  (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        const m = line.match(/Local\s+(\S+)/);
        if (m) url.resolve(m[1].replace("localhost", "127.0.0.1"));
      }
    }
  })();
  child.stderr.pipeTo(new WritableStream()).catch(() => {});
  const timer = setTimeout(() => url.reject(new Error(`dev did not start: ${lines}`)), 15_000);
  try {
    return {
      url: await url.promise,
      dir,
      lines,
      async stop() {
        child.kill("SIGTERM");
        await child.status;
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        await Deno.remove(certDir, { recursive: true }).catch(() => {});
      },
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Resolve once the page's live-reload client is connected. */
async function connected(page: Page): Promise<string> {
  await page.waitForFunction(
    () =>
      (globalThis as unknown as { __switchyardDev?: { client: { state: string } } })
        .__switchyardDev?.client.state === "connected",
    null,
    { timeout: 10_000 },
  );
  return await page.evaluate(() =>
    (globalThis as unknown as { __switchyardDev: { client: { transport: string } } })
      .__switchyardDev.client.transport
  );
}

Deno.test({
  name: "switchyard dev: HTML and JS saves reload the page, CSS saves swap without a reload",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dev = await startDev();
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(dev.url);
      assert.equal(await connected(page), "webtransport");
      const color = () => page.evaluate('getComputedStyle(document.getElementById("h")).color');
      assert.equal(await color(), "rgb(255, 0, 0)");

      // CSS: the style changes and the page stays (a marker set on window survives).
      await page.evaluate(() => (globalThis as unknown as { marker: number }).marker = 42);
      await Deno.writeTextFile(`${dev.dir}/style.css`, "h1 { color: rgb(0, 0, 255); }");
      await page.waitForFunction(
        'getComputedStyle(document.getElementById("h")).color === "rgb(0, 0, 255)"',
        null,
        { timeout: 5_000 },
      );
      assert.equal(
        await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker),
        42,
      );

      // HTML: the page reloads with the new content.
      await Deno.writeTextFile(
        `${dev.dir}/index.html`,
        (await Deno.readTextFile(`${dev.dir}/index.html`)).replace(">one<", ">two<"),
      );
      await page.waitForFunction('document.getElementById("h")?.textContent === "two"', null, {
        timeout: 5_000,
      });
      assert.equal(
        await page.evaluate(() => (globalThis as unknown as { marker?: number }).marker),
        undefined,
      );
      await connected(page);

      // JS: a reload too.
      await Deno.writeTextFile(`${dev.dir}/app.js`, "globalThis.appVersion = 2;");
      await page.waitForFunction(
        () => (globalThis as unknown as { appVersion?: number }).appVersion === 2,
        null,
        { timeout: 5_000 },
      );

      // A burst of 20 saves: the final content shows.
      await connected(page);
      for (let i = 0; i < 20; i++) {
        await Deno.writeTextFile(
          `${dev.dir}/index.html`,
          (await Deno.readTextFile(`${dev.dir}/index.html`)).replace(/>(two|v\d+)</, `>v${i}<`),
        );
      }
      await page.waitForFunction('document.getElementById("h")?.textContent === "v19"', null, {
        timeout: 5_000,
      });
      assert.ok(dev.lines.some((l) => /css\s+style\.css \(\d+ ms\)/.test(l)), dev.lines.join("\n"));
      assert.ok(
        dev.lines.some((l) => /reload index\.html \(\d+ ms\)/.test(l)),
        dev.lines.join("\n"),
      );
    } finally {
      await browser.close();
      await dev.stop();
    }
  },
});

Deno.test({
  name: "switchyard dev: /events is read by a plain EventSource",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dev = await startDev();
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(dev.url);
      await connected(page);
      await page.evaluate(() => {
        const g = globalThis as unknown as { seen: string[] };
        g.seen = [];
        const source = new EventSource("/events");
        source.addEventListener("css", (e) => g.seen.push(`css ${(e as MessageEvent).data}`));
        source.addEventListener("reload", (e) => g.seen.push(`reload ${(e as MessageEvent).data}`));
        return new Promise((resolve) => source.onopen = resolve);
      });
      await Deno.writeTextFile(`${dev.dir}/style.css`, "h1 { color: rgb(0, 128, 0); }");
      await page.waitForFunction(
        () => (globalThis as unknown as { seen: string[] }).seen.length > 0,
        null,
        { timeout: 5_000 },
      );
      const seen = await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
      assert.deepEqual(seen, ['css {"paths":["style.css"]}']);
    } finally {
      await browser.close();
      await dev.stop();
    }
  },
});
