import assert from "node:assert/strict";
import { DEFAULT_DEV_CSP, devCsp, parsePolicy } from "./csp.ts";

const needs = { origin: "http://localhost:4433", scriptPath: "/switchyard/dev.js", quicPort: 4433 };

Deno.test("devCsp: without a policy, the default restricts no script or connection", () => {
  assert.equal(devCsp(undefined, needs), DEFAULT_DEV_CSP);
  const d = parsePolicy(DEFAULT_DEV_CSP);
  assert.equal(d.has("script-src") || d.has("connect-src") || d.has("default-src"), false);
  assert.deepEqual(d.get("frame-ancestors"), ["'self'"]);
});

Deno.test("devCsp: a default-src policy gets script-src and connect-src for the client", () => {
  const d = parsePolicy(devCsp("default-src 'self'; img-src data:", needs));
  assert.deepEqual(d.get("default-src"), ["'self'"]);
  assert.deepEqual(d.get("img-src"), ["data:"]);
  assert.deepEqual(d.get("script-src"), ["'self'", "http://localhost:4433/switchyard/dev.js"]);
  assert.deepEqual(d.get("connect-src"), [
    "'self'",
    "http://localhost:4433",
    "ws://localhost:4433",
    "https://*:4433",
  ]);
});

Deno.test("devCsp: explicit directives are extended, 'none' is replaced, others untouched", () => {
  const d = parsePolicy(
    devCsp("SCRIPT-SRC 'none'; script-src-elem 'nonce-abc'; connect-src https://api.example", {
      ...needs,
      origin: "https://dev.test:4434",
      quicPort: undefined,
    }),
  );
  assert.deepEqual(d.get("script-src"), ["https://dev.test:4434/switchyard/dev.js"]);
  assert.deepEqual(d.get("script-src-elem"), [
    "'nonce-abc'",
    "https://dev.test:4434/switchyard/dev.js",
  ]);
  assert.deepEqual(d.get("connect-src"), [
    "https://api.example",
    "https://dev.test:4434",
    "wss://dev.test:4434",
  ]);
  assert.equal(d.has("default-src"), false);
});

Deno.test("devCsp: a policy without script or default rules stays as it is", () => {
  assert.equal(devCsp("frame-ancestors 'none'", needs), "frame-ancestors 'none'");
  assert.equal(devCsp(" ; ;", needs), "");
});
