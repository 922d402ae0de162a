/**
 * `switchyard dev` as a user runs it: a real process serving a folder, a real
 * Chromium page, real file saves.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, pageOver } from "./_browser.ts";

const MAIN = new URL("../src/cli/main.ts", import.meta.url).pathname;

interface DevProcess {
  url: string;
  dir: string;
  lines: string[];
  stop(): Promise<void>;
}

async function startDev(extraArgs: readonly string[] = []): Promise<DevProcess> {
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
      "--cert-dir",
      certDir,
      ...extraArgs,
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

/** A test with a running `switchyard dev` and a headless Chromium, both stopped after. */
function devTest(
  name: string,
  fn: (dev: DevProcess, browser: Browser) => Promise<void>,
  args: readonly string[] = [],
): void {
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn() {
      const dev = await startDev(args);
      const browser = await launchBrowser();
      try {
        await fn(dev, browser);
      } finally {
        await browser.close();
        await dev.stop();
      }
    },
  });
}

/**
 * Resolve once the page's live-reload client is connected, with its transport. A reload may
 * land between the wait and the read (a re-created folder can reload twice); then wait again.
 */
async function connected(page: Page): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const handle = await page.waitForFunction(
        () => {
          const dev = (globalThis as unknown as {
            __switchyardDev?: { client: { state: string; transport: string } };
          }).__switchyardDev;
          return dev?.client.state === "connected" && dev.client.transport;
        },
        null,
        { timeout: Math.max(1, deadline - Date.now()) },
      );
      return await handle.jsonValue() as string;
    } catch (err) {
      const navigated = /context was destroyed|navigation/i.test((err as Error).message);
      if (!navigated || Date.now() > deadline) throw err;
    }
  }
}

const marker = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { marker?: number }).marker);

for (const kind of ["webtransport", "websocket", "sse"]) {
  devTest(
    `switchyard dev over ${kind}: HTML and JS saves reload, CSS saves swap, bursts settle`,
    async (dev, browser) => {
      const boot = await (await fetch(new URL("/switchyard/bootstrap.json", dev.url))).json();
      assert.equal(
        new URL(boot.transports.webtransport.url).port,
        new URL(dev.url).port,
        "WebTransport is on the page's port number (UDP)",
      );
      const page = await pageOver(browser, dev.url, kind);
      assert.equal(await connected(page), kind);
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
      assert.equal(await marker(page), 42, "a CSS change does not reload the page");

      // HTML: the page reloads with the new content.
      await Deno.writeTextFile(
        `${dev.dir}/index.html`,
        (await Deno.readTextFile(`${dev.dir}/index.html`)).replace(">one<", ">two<"),
      );
      await page.waitForFunction('document.getElementById("h")?.textContent === "two"', null, {
        timeout: 5_000,
      });
      assert.equal(await marker(page), undefined, "an HTML change reloads the page");
      assert.equal(await connected(page), kind);

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
      assert.ok(
        dev.lines.some((l) => /css\s+style\.css \(\d+ ms\)/.test(l)),
        dev.lines.join("\n"),
      );
      assert.ok(
        dev.lines.some((l) => /reload index\.html \(\d+ ms\)/.test(l)),
        dev.lines.join("\n"),
      );
      assert.ok(
        dev.lines.some((l) => l.includes(`page  / connected over ${kind}`)),
        dev.lines.join("\n"),
      );
      assert.ok(
        dev.lines.some((l) => new RegExp(`reached / over ${kind} in \\d+ ms`).test(l)),
        dev.lines.join("\n"),
      );
    },
  );
}

devTest(
  "switchyard dev: a save with no page open is fresh on open; a re-created folder still reloads",
  async (dev, browser) => {
    await Deno.writeTextFile(
      `${dev.dir}/index.html`,
      (await Deno.readTextFile(`${dev.dir}/index.html`)).replace(">one<", ">saved<"),
    );
    const page = await browser.newPage();
    await page.goto(dev.url);
    assert.equal(await page.evaluate('document.getElementById("h").textContent'), "saved");
    await connected(page);

    const html = await Deno.readTextFile(`${dev.dir}/index.html`);
    const css = await Deno.readTextFile(`${dev.dir}/style.css`);
    const js = await Deno.readTextFile(`${dev.dir}/app.js`);
    await Deno.remove(dev.dir, { recursive: true });
    await Deno.mkdir(dev.dir);
    await Deno.writeTextFile(`${dev.dir}/style.css`, css);
    await Deno.writeTextFile(`${dev.dir}/app.js`, js);
    await Deno.writeTextFile(`${dev.dir}/index.html`, html.replace(">saved<", ">recreated<"));
    await page.waitForFunction(
      'document.getElementById("h")?.textContent === "recreated"',
      null,
      { timeout: 15_000 },
    );
    await connected(page);
    await Deno.writeTextFile(`${dev.dir}/index.html`, html.replace(">saved<", ">after<"));
    await page.waitForFunction('document.getElementById("h")?.textContent === "after"', null, {
      timeout: 15_000,
    }).catch((err) => {
      throw new Error(`${err.message}\nterminal:\n${dev.lines.join("\n")}`);
    });
  },
);

devTest("switchyard dev: /events is read by a plain EventSource", async (dev, browser) => {
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
});

devTest(
  "switchyard dev --csp: a strict page policy still lets live reload in, over WebTransport",
  async (dev, browser) => {
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
    });
    await page.goto(dev.url);
    assert.equal(await connected(page), "webtransport");
    await Deno.writeTextFile(
      `${dev.dir}/index.html`,
      (await Deno.readTextFile(`${dev.dir}/index.html`)).replace(">one<", ">strict<"),
    );
    // Function predicates: a string one would be an eval, which the policy refuses.
    await page.waitForFunction(
      (text) =>
        (globalThis as unknown as {
          document: { getElementById(id: string): { textContent: string | null } | null };
        })
          .document.getElementById("h")?.textContent === text,
      "strict",
      { timeout: 5_000 },
    );
    assert.deepEqual(violations, [], "live reload itself trips no CSP violation");
    // The page's own inline script is still refused: the policy is the user's, not loosened.
    const inline = await page.evaluate(() => {
      // deno-lint-ignore no-explicit-any
      const doc = (globalThis as any).document;
      const s = doc.createElement("script");
      s.textContent = "globalThis.inlineRan = true";
      doc.head.append(s);
      return (globalThis as unknown as { inlineRan?: boolean }).inlineRan ?? false;
    });
    assert.equal(inline, false);
  },
  ["--csp", "default-src 'self'"],
);
