import assert from "node:assert/strict";
import { didYouMean } from "./did_you_mean.ts";

Deno.test("didYouMean() finds swaps, typos and unique prefixes", () => {
  assert.equal(didYouMean("prot", ["host", "port"]), "port");
  assert.equal(didYouMean("limts", ["limits", "session"]), "limits");
  assert.equal(didYouMean("http", ["http-port", "host"]), "http-port");
  assert.equal(didYouMean("PORT", ["port"]), "port");
});

Deno.test("didYouMean() returns undefined when nothing is close", () => {
  assert.equal(didYouMean("bananas", ["host", "port"]), undefined);
  assert.equal(didYouMean("lo", ["log-level", "log-format"]), undefined);
  assert.equal(didYouMean("x", []), undefined);
});
