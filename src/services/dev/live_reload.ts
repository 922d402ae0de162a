/**
 * The live-reload module a dev page loads from `/switchyard/dev.js`.
 *
 * It reads the `sys:dev` position that {@linkcode devSnippet} put on its own
 * `<script>` tag and subscribes from there, so a change made between serving
 * the page and connecting still arrives (replayed from history). On
 * `{ type: "reload" }` it reloads the page; on `{ type: "css" }` it swaps the
 * changed stylesheets and reloads only if none could be swapped. When the
 * server cannot say what was missed (`recovered: false`) it reloads too.
 *
 * `globalThis.__switchyardDev` exposes `{ client, reloads, swaps, lastEvent }`
 * for tests.
 *
 * This module is browser only. It does not use `/// <reference lib="dom" />`:
 * in `deno check src/` that reference would retype globals such as
 * `WebSocket` for every file checked with it. Deno's own types already cover
 * `location`, `sessionStorage` and `addEventListener`; the little of
 * `document` it needs is typed by {@linkcode DevDocument}.
 *
 * @module
 */

import { SwitchyardClient } from "../../../client/mod.ts";
import { type StylesheetDocument, type StylesheetLink, swapStylesheets } from "./css_swap.ts";
import { DEV_SCRIPT_SELECTOR, readDevPosition } from "./inject.ts";

/** What the server publishes on `sys:dev`. */
export interface DevEvent {
  type: "reload" | "css";
  /** Changed files, relative to the site root, with forward slashes. */
  paths: string[];
}

/** The test hook on `globalThis.__switchyardDev`. */
export interface DevState {
  client: SwitchyardClient;
  /** Reloads asked for (the page is going away after the first). */
  reloads: number;
  /** Change events handled by swapping stylesheets. */
  swaps: number;
  lastEvent: DevEvent | null;
}

/** An element of the page, as {@linkcode swapStylesheets} sees it. */
export type DevLink = StylesheetLink<DevLink>;

/** The part of the browser's `document` this module uses. */
export interface DevDocument extends StylesheetDocument<DevLink> {
  querySelector(selectors: string): { getAttribute(name: string): string | null } | null;
}

/** A recovery failure this soon after another one is not reloaded again (no reload loops). */
const RECOVERY_RELOAD_GAP_MS = 3000;
const RECOVERY_KEY = "switchyard-dev-recovery-reload";

const document = (globalThis as unknown as { document: DevDocument }).document;
const tag = document.querySelector(DEV_SCRIPT_SELECTOR);
const since = tag ? readDevPosition(tag) : null;
const client = new SwitchyardClient(location.origin);
const state: DevState = { client, reloads: 0, swaps: 0, lastEvent: null };
(globalThis as { __switchyardDev?: DevState }).__switchyardDev = state;

// Events are handled one at a time, so a css swap finishes before the next event acts.
let queue = Promise.resolve();

const subscription = client.subscribe("sys:dev", {
  ...(since ? { since } : {}),
  onPublication: (pub) => {
    const event = pub.data as DevEvent;
    // Tells the terminal how long the change took to get here (fire and forget).
    client.rpc("dev.ack", { offset: pub.offset, path: location.pathname }).catch(() => {});
    queue = queue.then(() => handle(event)).catch((err) => {
      console.error("[switchyard] live reload failed:", err);
      reload();
    });
  },
  onRecovery: ({ recovered }) => {
    if (recovered) return;
    const last = Number(sessionStorage.getItem(RECOVERY_KEY) ?? 0);
    if (Date.now() - last < RECOVERY_RELOAD_GAP_MS) {
      console.warn("[switchyard] missed changes again right after reloading: not reloading");
      return;
    }
    sessionStorage.setItem(RECOVERY_KEY, String(Date.now()));
    console.log("[switchyard] missed changes while disconnected: reloading");
    reload();
  },
});
addEventListener("pagehide", () => void client.close());
subscription.ready.then(
  () => client.rpc("dev.page", { path: location.pathname }),
).catch(() => {});

async function handle(event: DevEvent): Promise<void> {
  state.lastEvent = event;
  if (state.reloads > 0) return;
  const paths = event.paths.join(", ");
  if (event.type === "css" && await swapStylesheets(document, event.paths, location.href)) {
    state.swaps++;
    console.log(`[switchyard] css swapped: ${paths}`);
    return;
  }
  console.log(
    `[switchyard] ${event.type === "css" ? "css not on this page" : "changed"}: ${paths}`,
  );
  reload();
}

function reload(): void {
  if (state.reloads++ > 0) return;
  location.reload();
}
