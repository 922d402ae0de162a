/**
 * Document sync as one hub service: the SQLite store, the document manager,
 * and the three ways in — `/yjs/{doc}` (stock y-websocket clients), the
 * `sync.*` RPCs with the `sync:<doc>` channels (Switchyard sessions, any
 * transport), and the HTTP API under `/sync/` with `/openapi.json`.
 *
 * The database opens at start (a server that cannot keep documents must fail
 * before it accepts anything); Yjs and the rest load on the first request that
 * needs them (`_sync_engine.ts`), since importing Yjs costs ~17 MB.
 *
 * @module
 */

import { ClientBundle } from "../../app/client_bundle.ts";
import type { Authenticator, Hub, Logger, NamespaceOptions } from "../../core/mod.ts";
import type { HttpServer } from "../../http/mod.ts";
import type { DocManagerStats } from "./doc_manager.ts";
import { DocStore } from "./doc_store.ts";
import { openApiDocument } from "./openapi.ts";
import { awarenessNamespace, syncNamespace } from "./sync_namespaces.ts";
import type { DocAccess, SyncLimits } from "./types.ts";
import type { SyncEngine } from "./_sync_engine.ts";

/** Where the browser bundle of the client, the Yjs provider and Yjs is served. */
export const YJS_BUNDLE_PATH = "/switchyard/yjs.js";

/** Settings of {@linkcode SyncService} (the `[sync]` section). */
export interface SyncSettings extends SyncLimits {
  database: string;
  synchronous: "full" | "normal";
  anonymous: DocAccess;
  unloadAfterMs: number;
  compactAfterUpdates: number;
}

/** The sync API's prefix. */
const SYNC_API_PREFIX = "/sync/";

/** `sync.*` RPC methods, answered once the engine has loaded. */
const RPC_METHODS = ["sync.open", "sync.update", "sync.awareness"];

const NO_STATS: DocManagerStats = {
  docsLoaded: 0,
  updatesApplied: 0,
  updatesSkipped: 0,
  commits: 0,
  commitSeconds: 0,
  compactions: 0,
  resets: 0,
};

/** A running sync service. */
export class SyncService {
  #store: DocStore;
  #engine: Promise<SyncEngine> | undefined;
  #loaded: SyncEngine | undefined;
  #start: () => Promise<SyncEngine>;
  #closed = false;

  private constructor(store: DocStore, start: () => Promise<SyncEngine>) {
    this.#store = store;
    this.#start = start;
  }

  /** The namespaces the hub must be created with. */
  static namespaces(settings: Pick<SyncSettings, "anonymous">): Record<string, NamespaceOptions> {
    return {
      sync: syncNamespace(settings.anonymous),
      awareness: awarenessNamespace(settings.anonymous),
    };
  }

  /**
   * Open the database; do it before opening ports, so a server that cannot keep documents fails
   * before it accepts anything. Throws a `SyncError` (`ERR_STORE_OPEN`, naming the file and the
   * fix).
   */
  static openStore(settings: Pick<SyncSettings, "database" | "synchronous">): DocStore {
    return DocStore.open({ path: settings.database, synchronous: settings.synchronous });
  }

  /** Serve the documents of `store` through `hub` and `server`; the service closes the store. */
  static start(
    hub: Hub,
    server: HttpServer,
    options: {
      store: DocStore;
      settings: SyncSettings;
      authenticator: Authenticator;
      log: Logger;
      version: string;
      /** Told each commit's duration (for `/metrics`). */
      observer?: { commit(seconds: number): void };
    },
  ): SyncService {
    const service = new SyncService(options.store, async () => {
      const { startEngine } = await import("./_sync_engine.ts");
      return startEngine(hub, options);
    });
    for (const method of RPC_METHODS) {
      hub.rpc(method, async (data, ctx) => {
        const handler = (await service.#engineNow()).rpc.get(method)!;
        return await handler(data, ctx);
      });
    }
    server.addRoute("GET", "/yjs/", async (req, ctx) => (await service.#engineNow()).yjs(req, ctx));
    server.addRoute(
      "*",
      SYNC_API_PREFIX,
      async (req, ctx) => await (await service.#engineNow()).http(req, ctx),
    );
    // Built (or read from the cache) on first request, like Yjs itself: not at start-up.
    const bundle = new ClientBundle(new URL("../../../client/yjs.ts", import.meta.url));
    server.addRoute("GET", YJS_BUNDLE_PATH, () => bundle.response());
    const openApi = openApiDocument(options.version);
    server.addRoute("GET", "/openapi.json", () => Response.json(openApi));
    return service;
  }

  /** The document manager's counters (zeros until the first request loaded it). */
  get stats(): DocManagerStats {
    return this.#loaded?.stats ?? NO_STATS;
  }

  /** Close the endpoints, commit what is queued, close the database. */
  async close(): Promise<void> {
    this.#closed = true;
    const engine = await this.#engine?.catch(() => undefined);
    await engine?.close();
    this.#store.close();
  }

  #engineNow(): Promise<SyncEngine> {
    if (this.#closed) return Promise.reject(new Error("The sync service is closed"));
    this.#engine ??= this.#start().then((engine) => this.#loaded = engine);
    this.#engine.catch(() => this.#engine = undefined);
    return this.#engine;
  }
}
