/**
 * The heavy half of document sync — Yjs, the document manager and the three
 * endpoints — loaded by `sync_service.ts` on first use (importing Yjs costs
 * about 17 MB of memory, which a server nobody syncs with should not pay).
 *
 * @module
 */

import type { Authenticator, Hub, Logger, RpcHandler } from "../../core/mod.ts";
import type { RequestContext } from "../../http/router.ts";
import { DocManager, type DocManagerStats } from "./doc_manager.ts";
import type { DocStore } from "./doc_store.ts";
import { createSyncHttpApi } from "./http_api.ts";
import { attachSessionSync, publishForeignAwareness } from "./session_sync.ts";
import type { DocAccess, SyncLimits } from "./types.ts";
import { createYWebsocketHandler, yjsRoom } from "./y_websocket.ts";

/** Settings the engine runs with. */
export interface EngineSettings extends SyncLimits {
  anonymous: DocAccess;
  unloadAfterMs: number;
  compactAfterUpdates: number;
}

/** A running engine: what the service's routes and RPC stubs hand requests to. */
export interface SyncEngine {
  readonly stats: DocManagerStats;
  /** The `sync.*` RPC handlers by method. */
  readonly rpc: ReadonlyMap<string, RpcHandler>;
  /** `GET /yjs/{doc}`. */
  yjs(req: Request, ctx: RequestContext): Response;
  /** Everything under `/sync/`. */
  http(req: Request, ctx: RequestContext): Promise<Response>;
  close(): Promise<void>;
}

/** Start the engine on an open store. */
export function startEngine(
  hub: Hub,
  options: {
    store: DocStore;
    settings: EngineSettings;
    authenticator: Authenticator;
    log: Logger;
    observer?: { commit(seconds: number): void };
  },
): SyncEngine {
  const { store, settings, log } = options;
  const manager = new DocManager({
    store,
    limits: settings,
    unloadAfterMs: settings.unloadAfterMs,
    compactAfterUpdates: settings.compactAfterUpdates,
    log,
    observer: options.observer,
  });
  const authenticate = async (token: string | undefined) => {
    const creds = await options.authenticator.connect(token);
    return { claims: creds.user === "" && token === undefined ? undefined : creds.claims ?? {} };
  };
  const rpc = new Map<string, RpcHandler>();
  const stopUpdates = attachSessionSync(hub, {
    docs: manager,
    anonymous: settings.anonymous,
    log,
    register: (method, handler) => rpc.set(method, handler),
  });
  const yws = createYWebsocketHandler({
    docs: manager,
    authenticate,
    anonymous: settings.anonymous,
    maxUpdateBytes: settings.maxUpdateBytes,
    onAwareness: publishForeignAwareness(hub, log),
    log,
  });
  const http = createSyncHttpApi({
    docs: manager,
    changes: store,
    authenticate: (token) => authenticate(token),
    anonymous: settings.anonymous,
    maxUpdateBytes: settings.maxUpdateBytes,
  });
  return {
    get stats() {
      return manager.stats;
    },
    rpc,
    yjs(req, ctx) {
      const room = yjsRoom(ctx.url.pathname);
      if (room === null) {
        return Response.json({
          error: "ERR_BAD_DOC_NAME",
          message: "Connect to /yjs/{document name}",
        }, { status: 400 });
      }
      return yws(req, room);
    },
    http,
    async close() {
      stopUpdates();
      yws.close();
      await manager.close();
    },
  };
}
