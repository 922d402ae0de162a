import assert from "node:assert/strict";
import { ChangeFeed } from "./change_feed.ts";
import { deadline } from "../../../test/_deadline.ts";

Deno.test("ChangeFeed sends each notice to SSE and WebSocket listeners", async () => {
  const feed = new ChangeFeed();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => new URL(req.url).pathname === "/events" ? feed.sse(req) : feed.websocket(req),
  );
  const base = `127.0.0.1:${server.addr.port}`;
  try {
    const res = await fetch(`http://${base}/events`);
    assert.equal(res.headers.get("content-type"), "text/event-stream");
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    const ws = new WebSocket(`ws://${base}/ws`);
    const message = new Promise<string>((resolve) => ws.onmessage = (e) => resolve(e.data));
    await deadline(new Promise((r) => ws.onopen = r), 2000, "ws open");
    await deadline(
      (async () => {
        while (feed.size < 2) await new Promise((r) => setTimeout(r, 1));
      })(),
      2000,
      "both listeners",
    );
    feed.announce({ type: "css", paths: ["a.css"] });
    assert.deepEqual(JSON.parse(await deadline(message, 2000, "ws message")), {
      type: "css",
      paths: ["a.css"],
    });
    let text = "";
    while (!text.includes("event: css")) {
      const { value } = await deadline(reader.read(), 2000, "sse event");
      text += value;
    }
    assert.match(text, /event: css\ndata: \{"paths":\["a\.css"\]\}\n\n/);
    ws.close();
    await reader.cancel();
    const plain = await fetch(`http://${base}/ws`);
    assert.equal(plain.status, 426);
    await plain.body?.cancel();
  } finally {
    feed.close();
    await server.shutdown();
  }
});
