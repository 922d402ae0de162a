import assert from "node:assert/strict";
import { type ConfigError, type ConfigFlags, DEFAULT_CONFIG, loadConfig } from "./mod.ts";

const CWD = "/srv/app";
const PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n";

interface Setup {
  files?: Record<string, string>;
  env?: Record<string, string>;
  flags?: ConfigFlags;
  warnings?: string[];
}

/** Loads with an in-memory file system; `files` keys are absolute paths. */
function load(setup: Setup = {}) {
  return loadConfig({
    flags: setup.flags ?? {},
    env: setup.env ?? {},
    cwd: CWD,
    readFile: (path) => {
      const text = setup.files?.[path];
      return text === undefined
        ? Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`))
        : Promise.resolve(text);
    },
    onWarning: (message) => setup.warnings?.push(message),
  });
}

/** Loads the default `./switchyard.toml` holding `toml`. */
function loadToml(toml: string, setup: Setup = {}) {
  return load({ ...setup, files: { [`${CWD}/switchyard.toml`]: toml, ...setup.files } });
}

async function rejects(promise: Promise<unknown>, code: string): Promise<ConfigError> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  const error = caught as ConfigError;
  assert.equal(error.name, "ConfigError", String(caught));
  assert.equal(error.code, code, error.message);
  return error;
}

Deno.test("loadConfig() returns DEFAULT_CONFIG when nothing is set", async () => {
  const config = await load();
  assert.deepEqual(config, DEFAULT_CONFIG);
  assert.equal(config.host, "localhost");
  assert.equal(config.port, 4433);
  assert.equal(config.httpPort, 4480);
  assert.equal(config.tls, true);
  assert.equal(config.strictPort, false);
  assert.equal(config.certDir, ".switchyard/certs");
  assert.equal(config.logLevel, "info");
  assert.equal(config.logFormat, "json");
  assert.deepEqual(config.allowedOrigins, []);
  assert.equal(config.shutdownTimeoutMs, 5000);
  assert.equal(config.publicDir, undefined);
  assert.deepEqual(config.session, {
    graceMs: 30000,
    pingIntervalMs: 5000,
    pingTimeoutMs: 4000,
    dedupeWindow: 1024,
  });
  assert.deepEqual(config.limits, {
    maxMessageBytes: 65536,
    maxChannelsPerSession: 128,
    maxConnections: 10000,
    maxConnectionsPerIp: 1000,
    publishRate: 100,
    publishBurst: 200,
    maxSendBufferBytes: 1048576,
  });
  assert.equal(config.auth.anonymous, true);
  assert.deepEqual(config.auth.algorithms, []);
  assert.deepEqual(config.channels, {
    historySize: 0,
    historyTtlMs: 300000,
    presence: false,
    joinLeave: false,
    publish: true,
    subscribe: "public",
    recover: true,
  });
  assert.deepEqual(config.namespaces, {});
  assert.equal(config.configFile, undefined);
});

Deno.test("loadConfig() applies file < environment < flags", async () => {
  const toml = 'port = 1001\nhost = "file.example"\nlog_level = "warn"\ntls = true\n';
  const fileOnly = await loadToml(toml);
  assert.equal(fileOnly.port, 1001);
  assert.equal(fileOnly.host, "file.example");
  assert.equal(fileOnly.configFile, `${CWD}/switchyard.toml`);

  const env = { SWITCHYARD_PORT: "1002", SWITCHYARD_HOST: "env.example" };
  const withEnv = await loadToml(toml, { env });
  assert.equal(withEnv.port, 1002);
  assert.equal(withEnv.host, "env.example");
  assert.equal(withEnv.logLevel, "warn");

  const flags = { port: "1003", "no-tls": true };
  const withFlags = await loadToml(toml, { env, flags });
  assert.equal(withFlags.port, 1003);
  assert.equal(withFlags.host, "env.example");
  assert.equal(withFlags.tls, false);
  assert.equal(withFlags.logLevel, "warn");
});

Deno.test("loadConfig() reads the file named by --config, relative to cwd", async () => {
  const config = await load({
    flags: { config: "conf/prod.toml" },
    files: { [`${CWD}/conf/prod.toml`]: "[limits]\nmax_connections = 5\n" },
  });
  assert.equal(config.limits.maxConnections, 5);
  assert.equal(config.configFile, `${CWD}/conf/prod.toml`);
});

Deno.test("loadConfig() refuses a missing --config file", async () => {
  const error = await rejects(load({ flags: { config: "nope.toml" } }), "ERR_CONFIG_FILE");
  assert.match(error.message, /^Cannot read config file nope\.toml \(from --config\): /);
  assert.match(error.message, /\/srv\/app\/nope\.toml does not exist/);
});

Deno.test("loadConfig() converts every kind of text from env vars and flags", async () => {
  const config = await load({
    env: {
      SWITCHYARD_HTTP_PORT: "off",
      SWITCHYARD_STRICT_PORT: "yes",
      SWITCHYARD_ALLOWED_ORIGINS: "https://App.example.com, http://localhost:*",
      SWITCHYARD_AUTH_ALGORITHMS: "HS256,HS512",
      SWITCHYARD_AUTH_HMAC_SECRET: "x".repeat(32),
      SWITCHYARD_CHANNELS_HISTORY_SIZE: "50",
      SWITCHYARD_PUBLIC_DIR: "",
    },
    flags: { "log-format": "pretty", "strict-port": true, "cert-dir": "/tmp/certs" },
  });
  assert.equal(config.httpPort, "off");
  assert.equal(config.strictPort, true);
  assert.deepEqual(config.allowedOrigins, ["https://app.example.com", "http://localhost:*"]);
  assert.deepEqual(config.auth.algorithms, ["HS256", "HS512"]);
  assert.equal(config.channels.historySize, 50);
  assert.equal(config.publicDir, undefined);
  assert.equal(config.logFormat, "pretty");
  assert.equal(config.certDir, "/tmp/certs");
});

Deno.test("loadConfig() names the env var of an invalid value", async () => {
  const error = await rejects(
    load({ env: { SWITCHYARD_LIMITS_MAX_MESSAGE_BYTES: "-5" } }),
    "ERR_CONFIG_INVALID",
  );
  assert.equal(
    error.message,
    "Invalid limits.max_message_bytes = -5 (from SWITCHYARD_LIMITS_MAX_MESSAGE_BYTES): " +
      "must be an integer from 64 to 67108864",
  );
  assert.equal(error.key, "limits.max_message_bytes");
  assert.equal(error.source, "SWITCHYARD_LIMITS_MAX_MESSAGE_BYTES");
});

Deno.test("loadConfig() names the file line of an out-of-range value", async () => {
  const error = await rejects(
    loadToml('host = "0.0.0.0"\n\n[limits]\nmax_message_bytes = 10\n'),
    "ERR_CONFIG_INVALID",
  );
  assert.equal(
    error.message,
    "Invalid limits.max_message_bytes = 10 (from switchyard.toml:4): " +
      "must be an integer from 64 to 67108864",
  );
});

Deno.test("loadConfig() names the flag of a value of the wrong type", async () => {
  const error = await rejects(load({ flags: { port: "eighty" } }), "ERR_CONFIG_INVALID");
  assert.equal(
    error.message,
    'Invalid port = "eighty" (from --port): must be an integer from 0 to 65535',
  );
});

Deno.test("loadConfig() refuses TOML values of the wrong type, with a hint", async () => {
  const quoted = await rejects(loadToml('port = "8080"'), "ERR_CONFIG_INVALID");
  assert.match(quoted.message, /^Invalid port = "8080" \(from switchyard\.toml:1\): must be an/);
  assert.match(quoted.message, /without quotes$/);
  const bool = await rejects(loadToml("[auth]\nanonymous = 1\n"), "ERR_CONFIG_INVALID");
  assert.equal(
    bool.message,
    "Invalid auth.anonymous = 1 (from switchyard.toml:2): must be true or false",
  );
  const list = await rejects(loadToml('allowed_origins = "*"'), "ERR_CONFIG_INVALID");
  assert.match(list.message, /write a list: \["\*"\]$/);
  const float = await rejects(loadToml("session.grace_ms = 1.5"), "ERR_CONFIG_INVALID");
  assert.match(float.message, /^Invalid session\.grace_ms = 1\.5 \(from switchyard\.toml:1\)/);
});

Deno.test("loadConfig() refuses a bad enum value and suggests the right case", async () => {
  const error = await rejects(load({ flags: { "log-level": "verbose" } }), "ERR_CONFIG_INVALID");
  assert.equal(
    error.message,
    'Invalid log_level = "verbose" (from --log-level): ' +
      'must be one of "debug", "info", "warn" or "error"',
  );
  const cased = await rejects(loadToml('log_format = "JSON"'), "ERR_CONFIG_INVALID");
  assert.match(cased.message, /did you mean "json"\?$/);
});

Deno.test("loadConfig() refuses bad list items, URLs and secrets", async () => {
  const origin = await rejects(
    loadToml('allowed_origins = ["https://ok.example", "https://app.example/path"]'),
    "ERR_CONFIG_INVALID",
  );
  assert.match(origin.message, /"https:\/\/app\.example\/path" is not allowed: an origin has no/);
  const algorithm = await rejects(
    load({ env: { SWITCHYARD_AUTH_ALGORITHMS: "HS256,none" } }),
    "ERR_CONFIG_INVALID",
  );
  assert.match(algorithm.message, /"none" is not allowed$/);
  const url = await rejects(loadToml('auth.jwks_url = "ftp://x"'), "ERR_CONFIG_INVALID");
  assert.match(url.message, /must be an http:\/\/ or https:\/\/ URL$/);
  const secret = await rejects(
    load({ env: { SWITCHYARD_AUTH_HMAC_SECRET: "short-secret" } }),
    "ERR_CONFIG_INVALID",
  );
  assert.match(secret.message, /^Invalid auth\.hmac_secret = \(hidden\) /);
  assert.doesNotMatch(secret.message, /short-secret/);
});

Deno.test("loadConfig() reports every problem at once", async () => {
  const error = await rejects(
    loadToml('port = -1\nlog_level = "loud"\n', { env: { SWITCHYARD_TLS: "maybe" } }),
    "ERR_CONFIG_INVALID",
  );
  assert.deepEqual(error.problems.map((problem) => problem.key), ["port", "log_level", "tls"]);
  assert.equal(error.message.split("\n").length, 3);
  assert.match(error.problems[2].message, /use true, false, 1, 0, yes, no, on or off$/);
});

Deno.test("loadConfig() refuses unknown keys with a suggestion", async () => {
  const typo = await rejects(
    loadToml("[limits]\nmax_mesage_bytes = 100\n"),
    "ERR_CONFIG_UNKNOWN_KEY",
  );
  assert.equal(
    typo.message,
    "Unknown key limits.max_mesage_bytes (from switchyard.toml:2): " +
      "did you mean limits.max_message_bytes?",
  );
  const table = await rejects(loadToml("[limts]\nmax_connections = 1\n"), "ERR_CONFIG_UNKNOWN_KEY");
  assert.equal(
    table.message,
    "Unknown table [limts] (from switchyard.toml:1): did you mean [limits]?",
  );
  const moved = await rejects(loadToml("publish_rate = 5"), "ERR_CONFIG_UNKNOWN_KEY");
  assert.match(moved.message, /did you mean limits\.publish_rate\?$/);
  const none = await rejects(loadToml("\n\nbananas = 5"), "ERR_CONFIG_UNKNOWN_KEY");
  assert.equal(
    none.message,
    "Unknown key bananas (from switchyard.toml:3): " +
      "remove it; docs/configuration.md lists every key",
  );
  const namespaced = await rejects(
    loadToml("[namespaces.chat]\npresense = true\n"),
    "ERR_CONFIG_UNKNOWN_KEY",
  );
  assert.match(namespaced.message, /did you mean namespaces\.chat\.presence\?$/);
});

Deno.test("loadConfig() reads namespaces and fills their defaults", async () => {
  const config = await loadToml(
    '[channels]\nhistory_size = 5\n\n[namespaces.chat]\npresence = true\nsubscribe = "private"\n' +
      "[namespaces.live-feed_2]\n",
  );
  assert.equal(config.channels.historySize, 5);
  assert.deepEqual(Object.keys(config.namespaces), ["chat", "live-feed_2"]);
  assert.equal(config.namespaces.chat.presence, true);
  assert.equal(config.namespaces.chat.subscribe, "private");
  assert.equal(config.namespaces.chat.historySize, 0);
  assert.equal(config.namespaces.chat.recover, true);
  assert.equal(config.namespaces["live-feed_2"].publish, true);
});

Deno.test("loadConfig() refuses bad namespace names and values", async () => {
  const name = await rejects(
    loadToml("\n[namespaces.Chat]\npresence = true\n"),
    "ERR_CONFIG_INVALID",
  );
  assert.equal(
    name.message,
    'Invalid namespace name = "Chat" (from switchyard.toml:2): ' +
      "use lowercase letters, digits, _ and - only, e.g. [namespaces.chat]",
  );
  const value = await rejects(
    loadToml("[namespaces.chat]\nhistory_size = 2000000\n"),
    "ERR_CONFIG_INVALID",
  );
  assert.equal(
    value.message,
    "Invalid namespaces.chat.history_size = 2000000 (from switchyard.toml:2): " +
      "must be an integer from 0 to 1000000",
  );
  const flat = await rejects(loadToml("[namespaces]\nchat = 1\n"), "ERR_CONFIG_INVALID");
  assert.match(flat.message, /must be a table: \[namespaces\.chat\]$/);
});

Deno.test("loadConfig() refuses SWITCHYARD_NAMESPACES_* and warns about unknown variables", async () => {
  const error = await rejects(
    load({ env: { SWITCHYARD_NAMESPACES_CHAT_PRESENCE: "true" } }),
    "ERR_CONFIG_UNKNOWN_KEY",
  );
  assert.match(error.message, /namespaces are set only in switchyard\.toml/);
  const warnings: string[] = [];
  const config = await load({ env: { SWITCHYARD_PROT: "1", PORT: "2" }, warnings });
  assert.equal(config.port, 4433);
  assert.deepEqual(warnings, [
    "Ignoring unknown environment variable SWITCHYARD_PROT: did you mean SWITCHYARD_PORT?",
  ]);
});

Deno.test("loadConfig() reports invalid TOML with its line and column", async () => {
  const error = await rejects(loadToml('host = "a"\nport = = 1\n'), "ERR_CONFIG_SYNTAX");
  assert.match(error.message, /^Invalid TOML at switchyard\.toml:2:8: /);
  assert.equal(error.source, "switchyard.toml:2");
});

Deno.test("loadConfig() reads auth.public_key_file", async () => {
  const config = await load({
    env: { SWITCHYARD_AUTH_PUBLIC_KEY_FILE: "keys/jwt.pem", SWITCHYARD_AUTH_ANONYMOUS: "false" },
    files: { [`${CWD}/keys/jwt.pem`]: PEM },
  });
  assert.equal(config.auth.publicKey, PEM);
  assert.equal(config.auth.publicKeyFile, "keys/jwt.pem");
  assert.equal(config.auth.anonymous, false);
});

Deno.test("loadConfig() names the key and path of a missing public_key_file", async () => {
  const error = await rejects(
    loadToml('[auth]\npublic_key_file = "keys/missing.pem"\n'),
    "ERR_CONFIG_FILE",
  );
  assert.equal(
    error.message,
    'Cannot read auth.public_key_file = "keys/missing.pem" (from switchyard.toml:2): ' +
      "/srv/app/keys/missing.pem does not exist; check the path, or put the key in auth.public_key",
  );
  const notPem = await rejects(
    load({
      flags: {},
      env: { SWITCHYARD_AUTH_PUBLIC_KEY_FILE: "k" },
      files: { [`${CWD}/k`]: "x" },
    }),
    "ERR_CONFIG_INVALID",
  );
  assert.match(notPem.message, /must hold a PEM public key/);
});

Deno.test("loadConfig() refuses settings that contradict each other", async () => {
  const ports = await rejects(
    load({ flags: { port: "8000", "http-port": "8000" } }),
    "ERR_CONFIG_INVALID",
  );
  assert.equal(
    ports.message,
    "Invalid http_port = 8000 (from --http-port): must differ from port (8000, from --port); " +
      'pick another port or set http_port = "off"',
  );
  assert.equal(
    (await load({ flags: { port: "8000", "http-port": "8000", "no-tls": true } })).port,
    8000,
  );

  const buffer = await rejects(
    loadToml("[limits]\nmax_send_buffer_bytes = 2048\nmax_message_bytes = 4096\n"),
    "ERR_CONFIG_INVALID",
  );
  assert.match(
    buffer.message,
    /must be at least limits\.max_message_bytes \(4096, from switchyard\.toml:3\)$/,
  );

  const locked = await rejects(loadToml("[auth]\nanonymous = false\n"), "ERR_CONFIG_INVALID");
  assert.match(
    locked.message,
    /^Invalid auth\.anonymous = false \(from switchyard\.toml:2\): no token/,
  );

  const both = await rejects(
    load({
      env: { SWITCHYARD_AUTH_PUBLIC_KEY: PEM, SWITCHYARD_AUTH_PUBLIC_KEY_FILE: "k.pem" },
      files: { [`${CWD}/k.pem`]: PEM },
    }),
    "ERR_CONFIG_INVALID",
  );
  assert.match(both.message, /keep only one of them$/);

  const algorithm = await rejects(
    load({
      env: { SWITCHYARD_AUTH_ALGORITHMS: "RS256", SWITCHYARD_AUTH_HMAC_SECRET: "s".repeat(40) },
    }),
    "ERR_CONFIG_INVALID",
  );
  assert.match(
    algorithm.message,
    /RS256 needs auth\.public_key, auth\.public_key_file or auth\.jwks_url/,
  );
});

Deno.test("loadConfig() returns a frozen object", async () => {
  const config = await loadToml("[namespaces.chat]\n");
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.limits));
  assert.ok(Object.isFrozen(config.namespaces.chat));
  assert.ok(Object.isFrozen(config.allowedOrigins));
});

Deno.test("loadConfig() reads the real ./switchyard.toml only when it exists", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const none = await loadConfig({ flags: {}, env: {}, cwd: dir });
    assert.equal(none.configFile, undefined);
    await Deno.writeTextFile(`${dir}/switchyard.toml`, "strict_port = true\n");
    const found = await loadConfig({ flags: {}, env: {}, cwd: dir });
    assert.equal(found.strictPort, true);
    assert.equal(found.configFile, `${dir}/switchyard.toml`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfig() reads [gateway] and refuses a gateway it could not run", async () => {
  const secret = `hmac_secret = "${"s".repeat(40)}"`;
  const config = await loadToml(
    `[auth]\n${secret}\n[gateway]\nenabled = true\ncommand = "vite --port {port}"\n` +
      'port_range = "5000-5009"\nenv = "A=1"\n',
  );
  assert.equal(config.gateway.enabled, true);
  assert.equal(config.gateway.command, "vite --port {port}");
  assert.equal(config.gateway.portRange, "5000-5009");
  assert.equal(config.gateway.env, "A=1");
  assert.equal(config.gateway.anonymous, false);
  assert.equal(DEFAULT_CONFIG.gateway.enabled, false);
  assert.equal(DEFAULT_CONFIG.gateway.portRange, "41000-41999");

  const noCommand = await rejects(
    loadToml(`[auth]\n${secret}\n[gateway]\nenabled = true\n`),
    "ERR_CONFIG_INVALID",
  );
  assert.equal(noCommand.key, "gateway.command");
  assert.match(
    noCommand.message,
    /^Missing gateway\.command: it is required when gateway\.enabled = true \(from switchyard\.toml:4\); set the command/,
  );
  const fromEnv = await rejects(
    load({ env: { SWITCHYARD_GATEWAY_ENABLED: "true", SWITCHYARD_GATEWAY_ANONYMOUS: "true" } }),
    "ERR_CONFIG_INVALID",
  );
  assert.equal(fromEnv.key, "gateway.command");
  assert.match(fromEnv.message, /\(from SWITCHYARD_GATEWAY_ENABLED\)/);

  for (const range of ["41000", "42000-41000", "0-10", "1-70000", "a-b"]) {
    const bad = await rejects(
      load({ env: { SWITCHYARD_GATEWAY_PORT_RANGE: range } }),
      "ERR_CONFIG_INVALID",
    );
    assert.equal(bad.key, "gateway.port_range");
    assert.equal(
      bad.message,
      `Invalid gateway.port_range = "${range}" (from SWITCHYARD_GATEWAY_PORT_RANGE): must be ` +
        'two ports "LOW-HIGH" from 1 to 65535, low first, e.g. "41000-41999"',
    );
  }

  const ready = await rejects(loadToml('[gateway]\nready = "http"\n'), "ERR_CONFIG_INVALID");
  assert.equal(ready.key, "gateway.ready");

  const locked = await rejects(
    loadToml('[gateway]\nenabled = true\ncommand = "vite"\n'),
    "ERR_CONFIG_INVALID",
  );
  assert.equal(locked.key, "gateway.anonymous");
  assert.match(locked.message, /no session token could be verified/);
  const local = await loadToml('[gateway]\nenabled = true\ncommand = "vite"\nanonymous = true\n');
  assert.equal(local.gateway.anonymous, true);
});

Deno.test("loadConfig() takes subdomain routing only with a valid subdomain_suffix", async () => {
  const gateway = '[gateway]\nenabled = true\ncommand = "vite --port {port}"\nanonymous = true\n';
  const config = await loadToml(
    gateway + 'routing = "subdomain"\nsubdomain_suffix = "Dev.Example.com"\n',
  );
  assert.equal(config.gateway.routing, "subdomain");
  assert.equal(config.gateway.subdomainSuffix, "Dev.Example.com");
  assert.equal(
    (await loadToml(gateway + 'subdomain_suffix = "localhost"\n')).gateway.routing,
    "path",
  );

  const missing = await rejects(
    loadToml(gateway + 'routing = "subdomain"\n'),
    "ERR_CONFIG_INVALID",
  );
  assert.equal(missing.key, "gateway.subdomain_suffix");
  assert.match(
    missing.message,
    /^Missing gateway\.subdomain_suffix: it is required when gateway\.routing = "subdomain" \(from switchyard\.toml:5\); set the domain/,
  );
  for (
    const suffix of [
      ".dev.example.com",
      "*.dev.example.com",
      "dev.example.com:8443",
      "https://dev.example.com",
      "a..b",
      "-x.com",
    ]
  ) {
    const bad = await rejects(
      loadToml(gateway + `routing = "subdomain"\nsubdomain_suffix = "${suffix}"\n`),
      "ERR_CONFIG_INVALID",
    );
    assert.equal(bad.key, "gateway.subdomain_suffix", suffix);
    assert.match(
      bad.message,
      /^Invalid gateway\.subdomain_suffix = ".*" \(from switchyard\.toml:6\): must be a domain name without scheme, port, wildcard or leading dot, e\.g\. "dev\.example\.com"/,
    );
  }
});
