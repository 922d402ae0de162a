import assert from "node:assert/strict";
import { betterTransports, transportOrder } from "./transport_order.ts";
import { TRANSPORT_KINDS } from "./transport.ts";

const all = () => true;

Deno.test("transportOrder() follows the configured order and skips what is unusable", () => {
  assert.deepEqual(transportOrder({ preferred: TRANSPORT_KINDS, usable: all }), [
    "webtransport",
    "websocket",
    "sse",
  ]);
  assert.deepEqual(
    transportOrder({ preferred: TRANSPORT_KINDS, usable: (k) => k !== "websocket" }),
    ["webtransport", "sse"],
  );
  assert.deepEqual(transportOrder({ preferred: ["sse", "websocket"], usable: all }), [
    "sse",
    "websocket",
  ]);
});

Deno.test("transportOrder() starts with the cached winner", () => {
  assert.deepEqual(transportOrder({ preferred: TRANSPORT_KINDS, usable: all, cached: "sse" }), [
    "sse",
    "webtransport",
    "websocket",
  ]);
  // A cached kind that is no longer usable or configured is ignored.
  assert.deepEqual(
    transportOrder({ preferred: ["websocket"], usable: all, cached: "webtransport" }),
    ["websocket"],
  );
});

Deno.test("transportOrder() tries only the pinned kind", () => {
  assert.deepEqual(
    transportOrder({ preferred: TRANSPORT_KINDS, usable: all, pinned: "sse", cached: "websocket" }),
    ["sse"],
  );
  assert.deepEqual(
    transportOrder({ preferred: TRANSPORT_KINDS, usable: (k) => k !== "sse", pinned: "sse" }),
    [],
  );
});

Deno.test("betterTransports() lists the usable kinds ranked above the current one", () => {
  assert.deepEqual(betterTransports("sse", TRANSPORT_KINDS, all), ["webtransport", "websocket"]);
  assert.deepEqual(betterTransports("webtransport", TRANSPORT_KINDS, all), []);
  assert.deepEqual(
    betterTransports("sse", TRANSPORT_KINDS, (k) => k !== "webtransport"),
    ["websocket"],
  );
});
