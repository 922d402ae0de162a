/**
 * The live-reload dev server as a hub service: it watches a folder, batches
 * changes, publishes them on the `sys:dev` channel (with history, so a page
 * recovers what happened since it was served), serves the files with the page
 * client injected, and mirrors each change on the plain `/events` and `/ws`.
 *
 * @module
 */

import { ClientBundle } from "../../app/client_bundle.ts";
import type { Hub, Logger, NamespaceOptions, StreamPosition } from "../../core/mod.ts";
import { DEFAULT_NAMESPACE } from "../../core/mod.ts";
import type { HttpServer } from "../../http/mod.ts";
import { type ChangeBatch, ChangeBatcher } from "./change_batcher.ts";
import { ChangeFeed } from "./change_feed.ts";
import { FileWatcher } from "./file_watcher.ts";
import { devSnippet, injectClient } from "./inject.ts";
import { devCsp } from "./csp.ts";
import { createStaticServer, type StaticHandler } from "../../http/static_server.ts";

/** The channel change events are published on. */
export const DEV_CHANNEL = "sys:dev";

/** Options of the `sys` namespace the dev server needs: history, no client publishes. */
export const SYS_NAMESPACE: NamespaceOptions = {
  ...DEFAULT_NAMESPACE,
  historySize: 100,
  historyTtlMs: 600_000,
  publish: false,
};

/** Where the page client is served. */
export const DEV_CLIENT_PATH = "/switchyard/dev.js";

/** Options of {@linkcode DevService}. */
export interface DevOptions {
  /** The folder to serve and watch. */
  root: string;
  /** Answer unknown page paths with /index.html. */
  spa?: boolean;
  /** Add the live-reload client to HTML pages (default true). */
  inject?: boolean;
  /** More paths not to watch (globs). */
  ignore?: readonly string[];
  /** Add `Access-Control-Allow-Origin: *` to files. */
  cors?: boolean;
  /**
   * The pages' `Content-Security-Policy`: the page's own policy, to which the client's needs are
   * added; `"off"` for none. Default: `DEFAULT_DEV_CSP` of csp.ts.
   */
  csp?: string;
  /** Where one line per change goes (the terminal). */
  report?: (line: string, fields: Record<string, unknown>) => void;
  log: Logger;
}

/** A running dev service. */
export class DevService {
  #hub: Hub;
  #position: StreamPosition | null = null;
  #files: StaticHandler;
  #feed = new ChangeFeed();
  #bundle = new ClientBundle(new URL("./live_reload.ts", import.meta.url));
  #batcher: ChangeBatcher;
  #watcher: FileWatcher | undefined;
  #options: DevOptions;
  #quicPort: number | undefined;
  #publishing: Promise<void> = Promise.resolve();
  /** Recent batches by offset, to time their arrival in each page. */
  #recent = new Map<number, { firstAt: number; pages: Set<string> }>();

  private constructor(hub: Hub, options: DevOptions) {
    this.#hub = hub;
    this.#options = options;
    const inject = options.inject ?? true;
    this.#files = createStaticServer({
      root: options.root,
      spa: options.spa,
      transformHtml: inject
        ? (html) =>
          injectClient(html, devSnippet({ clientUrl: DEV_CLIENT_PATH, position: this.#position }))
        : undefined,
    });
    this.#batcher = new ChangeBatcher({ onBatch: (batch) => this.#announce(batch) });
  }

  /**
   * Start watching `options.root` and serving it through `server`.
   *
   * @example
   * ```ts ignore
   * const dev = await DevService.start(app.hub, app.server, { root: "./site", log });
   * ```
   */
  static async start(hub: Hub, server: HttpServer, options: DevOptions): Promise<DevService> {
    const service = new DevService(hub, options);
    service.#quicPort = server.quicPort;
    const { top } = await hub.history(DEV_CHANNEL, { limit: 0 });
    service.#position = top;
    server.addRoute("GET", DEV_CLIENT_PATH, () => service.#bundle.response());
    server.addRoute("GET", "/events", (req) => service.#feed.sse(req));
    server.addRoute("GET", "/ws", (req) => service.#feed.websocket(req));
    service.#bundle.warm();
    hub.rpc("dev.page", (data, ctx) => {
      const path = pagePath(data);
      options.report?.(`page  ${path} connected over ${ctx.transport ?? "?"}`, {
        page: path,
        transport: ctx.transport,
      });
      return null;
    });
    hub.rpc("dev.ack", (data, ctx) => service.#acked(data, ctx.session, ctx.transport));
    service.#watcher = new FileWatcher({
      root: options.root,
      ignore: options.ignore,
      onChange: (event) => service.#batcher.push(event),
      onError: (err) => options.log.error(err.message, { code: err.code }),
    });
    return service;
  }

  /** Serve a request for a file (the server's fallback). */
  async serve(req: Request): Promise<Response> {
    const res = await this.#files(req);
    if (this.#options.cors) res.headers.set("access-control-allow-origin", "*");
    const { csp } = this.#options;
    if (csp !== "off" && res.headers.get("content-type")?.startsWith("text/html")) {
      const policy = devCsp(csp, {
        origin: new URL(req.url).origin,
        scriptPath: DEV_CLIENT_PATH,
        quicPort: this.#quicPort,
      });
      res.headers.set("content-security-policy", policy);
    }
    return res;
  }

  /** Stop watching and end the plain feeds. */
  async close(): Promise<void> {
    this.#batcher.close();
    await this.#watcher?.close();
    await this.#publishing;
    this.#feed.close();
  }

  #acked(data: unknown, session: string, transport: string | null): null {
    const offset = (data as { offset?: unknown })?.offset;
    const batch = typeof offset === "number" ? this.#recent.get(offset) : undefined;
    if (!batch || batch.pages.has(session)) return null;
    batch.pages.add(session);
    const ms = Date.now() - batch.firstAt;
    const path = pagePath(data);
    this.#options.report?.(`  reached ${path} over ${transport ?? "?"} in ${ms} ms`, {
      reached: path,
      transport,
      ms,
    });
    return null;
  }

  #announce(batch: ChangeBatch): void {
    const notice = { type: batch.kind, paths: batch.paths };
    this.#publishing = this.#publishing.then(async () => {
      try {
        const pub = await this.#hub.publish(DEV_CHANNEL, notice);
        this.#position = { offset: pub.offset, epoch: pub.epoch };
        this.#recent.set(pub.offset, { firstAt: batch.firstAt, pages: new Set() });
        if (this.#recent.size > 50) this.#recent.delete(this.#recent.keys().next().value!);
      } catch (err) {
        this.#options.log.error("Cannot announce a change", { error: String(err) });
        return;
      }
      this.#feed.announce(notice);
      const ms = Date.now() - batch.firstAt;
      const what = batch.paths.length === 1 ? batch.paths[0] : `${batch.paths.length} files`;
      this.#options.report?.(
        `${batch.kind === "css" ? "css  " : "reload"} ${what || "(folder)"} (${ms} ms)`,
        { change: batch.kind, paths: batch.paths, ms },
      );
    });
  }
}

/** The page path a page reported, cut short and printable. */
function pagePath(data: unknown): string {
  const path = (data as { path?: unknown })?.path;
  return typeof path === "string" ? path.slice(0, 200).replace(/[^\x20-\x7e]/g, "?") : "?";
}
