// The Hocuspocus server of bench/sync_bench.ts: a stock `Server` on 127.0.0.1.
//
//   node hocuspocus_server.mjs <port>                # documents in memory only
//   node hocuspocus_server.mjs <port> <file.sqlite>  # + @hocuspocus/extension-sqlite
//
// Defaults otherwise: onStoreDocument debounced 2 s (at most 10 s), so with the SQLite
// extension a document's whole state is written after the edits, off the update's path.
// Stops on SIGTERM/SIGINT (`stopOnSignals`, the default).

import { createRequire } from "node:module";

// require() rather than import: `deno check bench/` then leaves Node's packages alone.
const require = createRequire(import.meta.url);
const { Server } = require("@hocuspocus/server");
const [port, database] = process.argv.slice(2);
const extensions = [];
if (database) {
  const { SQLite } = require("@hocuspocus/extension-sqlite");
  extensions.push(new SQLite({ database }));
}
const server = new Server({
  port: Number(port),
  address: "127.0.0.1",
  quiet: true,
  extensions,
});
await server.listen();
