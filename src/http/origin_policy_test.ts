import assert from "node:assert/strict";
import { OriginPatternError, OriginPolicy } from "./origin_policy.ts";

Deno.test("OriginPolicy with no entries allows the request's own host on any port and scheme", () => {
  const p = new OriginPolicy([]);
  assert.equal(p.allows("http://localhost:5173", "localhost:4433"), true);
  assert.equal(p.allows("https://localhost", "localhost:4433"), true);
  assert.equal(p.allows("http://127.0.0.1:4480", "127.0.0.1:4433"), true);
  assert.equal(p.allows("http://[::1]:3000", "[::1]:4433"), true);
  assert.equal(p.allows("http://LOCALHOST:1", "localhost"), true);
  assert.equal(p.allows("http://127.0.0.1:5173", "localhost:4433"), false);
  assert.equal(p.allows("https://evil.example", "localhost:4433"), false);
  assert.equal(p.allows("https://localhost.evil.example", "localhost:4433"), false);
  assert.equal(p.allows("http://localhost:5173", null), false);
});

Deno.test("OriginPolicy allows requests without an Origin header", () => {
  assert.equal(new OriginPolicy([]).allows(null, "localhost"), true);
  assert.equal(new OriginPolicy(["https://a.example"]).allows(null, "localhost"), true);
});

Deno.test("OriginPolicy matches exact origins, with default ports normalized", () => {
  const p = new OriginPolicy(["https://app.example", "http://localhost:5173"]);
  assert.equal(p.allows("https://app.example", "rt.example"), true);
  assert.equal(p.allows("https://app.example:443", "rt.example"), true);
  assert.equal(p.allows("http://app.example", "rt.example"), false);
  assert.equal(p.allows("https://app.example:8443", "rt.example"), false);
  assert.equal(p.allows("http://localhost:5173", "localhost:4433"), true);
  assert.equal(p.allows("http://localhost:5174", "localhost:4433"), false);
  // Entries replace the same-host default.
  assert.equal(p.allows("https://rt.example", "rt.example"), false);
});

Deno.test("OriginPolicy matches port wildcards and *", () => {
  const p = new OriginPolicy(["http://localhost:*"]);
  assert.equal(p.allows("http://localhost:1234", "x"), true);
  assert.equal(p.allows("http://localhost", "x"), true);
  assert.equal(p.allows("https://localhost:1234", "x"), false);
  assert.equal(p.allows("http://127.0.0.1:1234", "x"), false);
  const any = new OriginPolicy(["*"]);
  assert.equal(any.allows("https://whatever.example", "x"), true);
  assert.equal(any.allows("null", "x"), true);
});

Deno.test("OriginPolicy refuses the opaque origin null and garbage unless * is set", () => {
  const p = new OriginPolicy([]);
  assert.equal(p.allows("null", "localhost"), false);
  assert.equal(p.allows("not an origin", "localhost"), false);
  assert.equal(new OriginPolicy(["https://a.example"]).allows("null", "a.example"), false);
});

Deno.test("new OriginPolicy() names a malformed entry and the fix", () => {
  for (
    const bad of [
      "app.example",
      "https://app.example/path",
      "https://a:1:*",
      "https://u:p@a.example",
    ]
  ) {
    assert.throws(
      () => new OriginPolicy([bad]),
      (e: OriginPatternError) =>
        e instanceof OriginPatternError && e.message.includes(`"${bad}"`) &&
        e.message.includes("http://localhost:*"),
      bad,
    );
  }
});

Deno.test("OriginPolicy matches browser extension origins by scheme and id", () => {
  const p = new OriginPolicy(["chrome-extension://abcdef", "moz-extension://1234-5678"]);
  assert.equal(p.allows("chrome-extension://abcdef", "localhost:4433"), true);
  assert.equal(p.allows("chrome-extension://ABCDEF", "localhost:4433"), true);
  assert.equal(p.allows("moz-extension://1234-5678", "localhost:4433"), true);
  assert.equal(p.allows("chrome-extension://other", "localhost:4433"), false);
  assert.equal(p.allows("moz-extension://abcdef", "localhost:4433"), false);
  assert.equal(new OriginPolicy([]).allows("chrome-extension://abcdef", "localhost:4433"), false);
});
