/**
 * The live-reload dev server (`switchyard dev`): static files, a watcher,
 * change batches published on `sys:dev`, and the injected page client.
 *
 * @module
 */
export {
  DEV_CHANNEL,
  DEV_CLIENT_PATH,
  type DevOptions,
  DevService,
  SYS_NAMESPACE,
} from "./dev_service.ts";
export {
  type ChangeBatch,
  ChangeBatcher,
  type ChangeEvent,
  type ChangeKind,
} from "./change_batcher.ts";
export { ChangeFeed, type ChangeNotice } from "./change_feed.ts";
export {
  FileWatcher,
  type FileWatcherOptions,
  FileWatchError,
  WATCH_LIMIT_MESSAGE,
} from "./file_watcher.ts";
export { devSnippet, injectClient } from "./inject.ts";
export { createStaticServer, type StaticServerOptions } from "../../http/static_server.ts";
