/**
 * Headless Chromium for end-to-end tests: Debian's chromium driven by
 * playwright-core (never a downloaded browser).
 *
 * @module
 */

import { type Browser, chromium } from "playwright-core";

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
