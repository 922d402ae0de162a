/**
 * The browser bundle served at `/switchyard/yjs.js` when document sync is on:
 * the client, the Yjs provider and Yjs itself, so that a page without a build
 * step gets one copy of Yjs that the provider and the page share.
 *
 * An application with its own bundler imports `client/yjs_provider.ts` and
 * `yjs` instead, and its bundler keeps one copy.
 *
 * @module
 */

export * as Y from "yjs";
export { SwitchyardClient } from "./switchyard_client.ts";
export { Awareness } from "y-protocols/awareness";
export { type DocAccess, SwitchyardYjsProvider, type YjsProviderOptions } from "./yjs_provider.ts";
