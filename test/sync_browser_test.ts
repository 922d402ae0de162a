/**
 * The tab-sync example (examples/tab-sync) in headless Chromium: two pages are
 * two devices, on different transports, sharing one Yjs document.
 */
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, pageOver } from "./_browser.ts";
import { startTestServer } from "./_server.ts";

const SITE = new URL("../examples/tab-sync", import.meta.url).pathname;

async function device(browser: Browser, url: string, kind: string): Promise<Page> {
  const page = await pageOver(browser, url, kind);
  await page.waitForFunction(
    'document.getElementById("state")?.textContent?.startsWith("synced over")',
    null,
    { timeout: 10_000 },
  );
  return page;
}

/** The tab titles a page shows for `device` (a page expression: no DOM types in Deno). */
const titlesOf = (device: string) =>
  `[...document.querySelectorAll('section[data-device="${device}"] li a')]` +
  `.map((a) => a.textContent).join()`;

Deno.test({
  name: "tab-sync example: two devices on different transports share their tabs, durably",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await startTestServer({ flags: { "public-dir": SITE } });
    const browser = await launchBrowser();
    try {
      const url = `${s.http}/?doc=tabs/test-${crypto.randomUUID()}`;
      const a = await device(browser, url, "webtransport");
      const b = await device(browser, url, "sse");
      assert.match(await a.textContent("#state") ?? "", /synced over webtransport/);
      assert.match(await b.textContent("#state") ?? "", /synced over sse/);
      const deviceA = await a.textContent("#me") ?? "";
      const deviceB = await b.textContent("#me") ?? "";
      await a.waitForFunction(
        `document.querySelector('section[data-device="${deviceB}"] h2')?.textContent.endsWith("online")`,
        null,
        { timeout: 5_000 },
      );

      await a.fill("#title", "Switchyard docs");
      await a.fill("#url", "https://example.com/docs");
      await a.click("button:text('Open tab')");
      await b.waitForFunction(`${titlesOf(deviceA)} === "Switchyard docs"`, null, {
        timeout: 5_000,
      });

      // Closing it on device a removes it on b; a new page (after the others left) sees the rest.
      await a.fill("#title", "second");
      await a.click("button:text('Open tab')");
      await a.click(`section[data-device="${deviceA}"] li:first-child button`);
      await b.waitForFunction(`${titlesOf(deviceA)} === "second"`, null, { timeout: 5_000 });
      await a.context().close();
      await b.context().close();
      const c = await device(browser, url, "websocket");
      assert.equal(await c.evaluate(titlesOf(deviceA)), "second");
    } finally {
      await browser.close();
      await s.close();
    }
  },
});
