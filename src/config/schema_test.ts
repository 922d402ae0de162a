import assert from "node:assert/strict";
import { checkValue } from "./_kinds.ts";
import {
  ALL_FIELDS,
  type Config,
  DEFAULT_CONFIG,
  envName,
  FIELDS,
  JWT_ALGORITHMS,
  NAMESPACE_FIELDS,
} from "./mod.ts";

Deno.test("envName() upper-snakes the dotted key", () => {
  assert.equal(envName("port"), "SWITCHYARD_PORT");
  assert.equal(envName("limits.max_message_bytes"), "SWITCHYARD_LIMITS_MAX_MESSAGE_BYTES");
  assert.equal(envName("channels.join_leave"), "SWITCHYARD_CHANNELS_JOIN_LEAVE");
});

Deno.test("ALL_FIELDS have distinct keys, environment variables and flags", () => {
  const keys = ALL_FIELDS.map((field) => field.key);
  assert.equal(new Set(keys).size, keys.length);
  const envs = keys.map(envName);
  assert.equal(new Set(envs).size, envs.length);
  const flags = ALL_FIELDS.flatMap((field) => field.flag ? [field.flag.name] : []);
  assert.equal(new Set(flags).size, flags.length);
});

Deno.test("ALL_FIELDS defaults pass their own validation", () => {
  for (const field of [...ALL_FIELDS, ...NAMESPACE_FIELDS]) {
    if (field.default === undefined) continue;
    const checked = checkValue(field, field.default);
    assert.ok(checked.ok, `default of ${field.key} is invalid`);
  }
});

Deno.test("ALL_FIELDS have a one-line doc and integer ranges", () => {
  for (const field of ALL_FIELDS) {
    assert.ok(field.doc.length > 0 && !field.doc.includes("\n"), field.key);
    assert.ok(!field.doc.endsWith("."), `${field.key}: docs end without a period`);
    if (field.kind === "int") assert.ok(field.min! <= (field.default as number), field.key);
  }
  assert.equal(FIELDS.length + NAMESPACE_FIELDS.length, ALL_FIELDS.length);
});

Deno.test("Config type follows the schema", () => {
  const port: number = DEFAULT_CONFIG.port;
  const httpPort: number | "off" = DEFAULT_CONFIG.httpPort;
  const algorithms: readonly (typeof JWT_ALGORITHMS)[number][] = DEFAULT_CONFIG.auth.algorithms;
  const level: "debug" | "info" | "warn" | "error" = DEFAULT_CONFIG.logLevel;
  const secret: string | undefined = DEFAULT_CONFIG.auth.hmacSecret;
  const subscribe: "public" | "authenticated" | "private" = DEFAULT_CONFIG.channels.subscribe;
  // @ts-expect-error: misspelled keys do not exist
  DEFAULT_CONFIG.limits.maxMesageBytes;
  assert.throws(() => {
    // @ts-expect-error: the configuration is read-only
    (DEFAULT_CONFIG as Config).port = 1;
  }, TypeError);
  assert.deepEqual([port, httpPort, algorithms, level, secret, subscribe], [
    4433,
    4480,
    [],
    "info",
    undefined,
    "public",
  ]);
});
