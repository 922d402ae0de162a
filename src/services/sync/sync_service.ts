/**
 * Document sync as one hub service: the SQLite store, the document manager,
 * and the three ways in — `/yjs/{doc}` (stock y-websocket clients), the
 * `sync.*` RPCs with the `sync:<doc>` channels (Switchyard sessions, any
 * transport), and the HTTP API under `/sync/` with `/openapi.json`.
 *
 * @module
 */

import { ClientBundle } from "../../app/client_bundle.ts";
import type { Authenticator, Hub, Logger, NamespaceOptions } from "../../core/mod.ts";
import type { HttpServer } from "../../http/mod.ts";
import { DocManager, type DocManagerStats } from "./doc_manager.ts";
import { DocStore } from "./doc_store.ts";
import { createSyncHttpApi, SYNC_API_PREFIX } from "./http_api.ts";
import { openApiDocument } from "./openapi.ts";
import {
  attachSessionSync,
  awarenessNamespace,
  publishForeignAwareness,
  syncNamespace,
} from "./session_sync.ts";
import type { DocAccess, SyncLimits } from "./types.ts";
import { createYWebsocketHandler, yjsRoom } from "./y_websocket.ts";

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

/** A running sync service. */
export class SyncService {
  #store: DocStore;
  #manager: DocManager;
  #stop: (() => void)[] = [];

  private constructor(store: DocStore, manager: DocManager) {
    this.#store = store;
    this.#manager = manager;
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
    const { settings, log } = options;
    const { store } = options;
    const manager = new DocManager({
      store,
      limits: settings,
      unloadAfterMs: settings.unloadAfterMs,
      compactAfterUpdates: settings.compactAfterUpdates,
      log,
      observer: options.observer,
    });
    const service = new SyncService(store, manager);
    const authenticate = async (token: string | undefined) => {
      const creds = await options.authenticator.connect(token);
      return { claims: creds.user === "" && token === undefined ? undefined : creds.claims ?? {} };
    };
    service.#stop.push(
      attachSessionSync(hub, { docs: manager, anonymous: settings.anonymous, log }),
    );
    const yws = createYWebsocketHandler({
      docs: manager,
      authenticate,
      anonymous: settings.anonymous,
      maxUpdateBytes: settings.maxUpdateBytes,
      onAwareness: publishForeignAwareness(hub, log),
      log,
    });
    service.#stop.push(() => yws.close());
    server.addRoute("GET", "/yjs/", (req, ctx) => {
      const room = yjsRoom(ctx.url.pathname);
      if (room === null) {
        return Response.json({
          error: "ERR_BAD_DOC_NAME",
          message: "Connect to /yjs/{document name}",
        }, { status: 400 });
      }
      return yws(req, room);
    });
    server.addRoute(
      "*",
      SYNC_API_PREFIX,
      createSyncHttpApi({
        docs: manager,
        changes: store,
        authenticate: (token) => authenticate(token),
        anonymous: settings.anonymous,
        maxUpdateBytes: settings.maxUpdateBytes,
      }),
    );
    const bundle = new ClientBundle(new URL("../../../client/yjs.ts", import.meta.url));
    bundle.warm();
    server.addRoute("GET", YJS_BUNDLE_PATH, () => bundle.response());
    const openApi = openApiDocument(options.version);
    server.addRoute("GET", "/openapi.json", () => Response.json(openApi));
    return service;
  }

  /** The document manager's counters. */
  get stats(): DocManagerStats {
    return this.#manager.stats;
  }

  /** Close the endpoints, commit what is queued, close the database. */
  async close(): Promise<void> {
    for (const stop of this.#stop.splice(0)) stop();
    await this.#manager.close();
    this.#store.close();
  }
}
