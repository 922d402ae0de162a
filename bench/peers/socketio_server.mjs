// The Socket.IO 4.8 peer of bench/fanout_bench.ts: WebSocket transport only.
//
//   node socketio_server.mjs <port>
//
// Events: "subscribe" (room, ack) joins the room; "publish" (room, data, ack)
// broadcasts `io.to(room).emit("pub", data)`. Prints "listening <port>" once
// ready and stops on SIGTERM.

import { createServer } from "node:http";
import { createRequire } from "node:module";

// require() rather than import: `deno check bench/` then leaves Node's packages alone.
const { Server } = createRequire(import.meta.url)("socket.io");

const port = Number(process.argv[2] ?? 0);
const http = createServer();
const io = new Server(http, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
});

io.on("connection", (socket) => {
  socket.on("subscribe", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack({ ok: true });
  });
  socket.on("publish", (room, data, ack) => {
    io.to(room).emit("pub", data);
    if (typeof ack === "function") ack({ ok: true });
  });
});

http.listen(port, "127.0.0.1", () => {
  console.log(`listening ${http.address().port}`);
});

process.on("SIGTERM", () => {
  io.close();
  process.exit(0);
});
