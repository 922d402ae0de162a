import assert from "node:assert/strict";
import { DEFAULT_CONFIG } from "../../config/mod.ts";
import { gatewayOptions } from "./gateway_settings.ts";
import { GatewayError } from "./supervisor.ts";

const deps = {
  authenticator: { connect: () => Promise.reject(new Error("unused")) },
  log: console,
};

Deno.test("gatewayOptions() turns [gateway] settings into GatewayService options", () => {
  const options = gatewayOptions({
    ...DEFAULT_CONFIG.gateway,
    command: "vite --port {port}",
    env: 'NODE_ENV=development TITLE="session {id}"',
    ready: "/session/{id}/",
  }, deps);
  assert.equal(options.command, "vite --port {port}");
  assert.deepEqual(options.env, { NODE_ENV: "development", TITLE: "session {id}" });
  assert.deepEqual(options.readiness, { type: "http", path: "/session/{id}/" });
  assert.deepEqual(options.portRange, [41000, 41999]);
  assert.equal(options.cwd, undefined, '"." is the server\'s directory');
  assert.equal(options.access?.anonymous, false);
  assert.deepEqual(
    gatewayOptions({ ...DEFAULT_CONFIG.gateway, command: "x" }, deps).readiness,
    { type: "tcp" },
  );
});

Deno.test("gatewayOptions() names the key of a missing command or a bad env entry", () => {
  const code = (fn: () => unknown, message: RegExp) =>
    assert.throws(fn, (error) => error instanceof GatewayError && message.test(error.message));
  code(() => gatewayOptions({ ...DEFAULT_CONFIG.gateway }, deps), /^Missing gateway\.command/);
  code(
    () => gatewayOptions({ ...DEFAULT_CONFIG.gateway, command: "x", env: "A=1 oops" }, deps),
    /^Invalid gateway\.env: Invalid environment entry "oops": use NAME=value/,
  );
});

Deno.test("gatewayOptions() sets subdomainSuffix only with routing = subdomain", () => {
  const base = { ...DEFAULT_CONFIG.gateway, command: "x", subdomainSuffix: "dev.example.com" };
  assert.equal(gatewayOptions(base, deps).subdomainSuffix, undefined);
  const own = gatewayOptions({ ...base, routing: "subdomain" }, deps);
  assert.equal(own.subdomainSuffix, "dev.example.com");
  assert.throws(
    () => gatewayOptions({ ...base, routing: "subdomain", subdomainSuffix: undefined }, deps),
    (error) =>
      error instanceof GatewayError && /^Missing gateway\.subdomain_suffix/.test(error.message),
  );
});
