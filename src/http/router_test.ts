import assert from "node:assert/strict";
import { Router } from "./router.ts";

const h = (name: string) => () => new Response(name);

Deno.test("Router.match() prefers the longest prefix and gives the rest of the path", async () => {
  const r = new Router();
  r.add("GET", "/", h("root"));
  r.add("GET", "/static/", h("static"));
  r.add("GET", "/metrics", h("metrics"));
  const name = async (path: string) => {
    const m = r.match("GET", path);
    return m && [await (await m.handler(new Request("http://x"), {} as never)).text(), m.rest];
  };
  assert.deepEqual(await name("/static/a/b.js"), ["static", "/a/b.js"]);
  // A prefix ending in "/" covers what is below it, not the bare name.
  assert.deepEqual(await name("/static"), ["root", "/static"]);
  assert.deepEqual(await name("/metrics"), ["metrics", ""]);
  assert.deepEqual(await name("/metrics/x"), ["metrics", "/x"]);
  assert.deepEqual(await name("/metricsx"), ["root", "/metricsx"]);
  assert.deepEqual(await name("/"), ["root", ""]);
});

Deno.test("Router.match() filters by method; * matches any", () => {
  const r = new Router();
  r.add("POST", "/a", h("post"));
  r.add("*", "/b", h("any"));
  assert.equal(r.match("GET", "/a"), undefined);
  assert.ok(r.match("POST", "/a"));
  assert.ok(r.match("DELETE", "/b"));
});

Deno.test("Router.add() refuses a prefix without a leading slash", () => {
  assert.throws(() => new Router().add("GET", "metrics", h("m")), /must start with "\/"/);
});
