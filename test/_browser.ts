/**
 * Headless Chromium for end-to-end tests: Debian's chromium driven by
 * playwright-core (never a downloaded browser).
 *
 * @module
 */

import { type Browser, chromium, type Page } from "playwright-core";

const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** The Chromium executable: `$SWITCHYARD_CHROMIUM` or /usr/bin/chromium. */
export function chromiumPath(): string {
  return Deno.env.get("SWITCHYARD_CHROMIUM") ?? "/usr/bin/chromium";
}

/** Launch headless Chromium with a fresh profile; `extraArgs` e.g. `["--disable-quic"]`. */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    chromiumSandbox: false,
    args: [...FLAGS, ...extraArgs],
    timeout: 30_000,
  });
}

/**
 * A page, in a fresh context, opened on `url` with the client's per-origin transport memory preset
 * to `kind`: the page's Switchyard client starts with that transport.
 */
export async function pageOver(browser: Browser, url: string, kind: string): Promise<Page> {
  const context = await browser.newContext();
  await context.addInitScript(
    ([origin, kind]) =>
      localStorage.setItem(
        `switchyard:transport:${origin}`,
        JSON.stringify({ kind, expires: Date.now() + 60_000 }),
      ),
    [new URL(url).origin, kind],
  );
  const page = await context.newPage();
  await page.goto(url);
  return page;
}
