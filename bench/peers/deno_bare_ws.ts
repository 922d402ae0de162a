/**
 * The floor of bench/fanout_bench.ts: a bare `Deno.serve` + `Deno.upgradeWebSocket`
 * server with no protocol. Every text message a client sends is forwarded
 * as is to every other open socket.
 *
 *     deno run --allow-net bench/peers/deno_bare_ws.ts <port>
 *
 * Prints "listening <port>" once ready.
 *
 * @module
 */

const port = Number(Deno.args[0] ?? 0);
const sockets = new Set<WebSocket>();

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, (req) => {
  if (req.headers.get("upgrade") !== "websocket") return new Response("bare", { status: 200 });
  const { socket, response } = Deno.upgradeWebSocket(req);
  socket.onopen = () => sockets.add(socket);
  socket.onclose = () => sockets.delete(socket);
  socket.onmessage = (e) => {
    for (const s of sockets) if (s !== socket) s.send(e.data);
  };
  return response;
});
