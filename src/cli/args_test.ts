import assert from "node:assert/strict";
import { loadConfig } from "../config/mod.ts";
import { CLI_FLAGS, parseCli, UsageError } from "./args.ts";

function usageError(argv: string[]): UsageError {
  let caught: unknown;
  assert.throws(() => parseCli(argv), (error) => {
    caught = error;
    return error instanceof UsageError;
  });
  const error = caught as UsageError;
  assert.equal(error.code, "ERR_USAGE");
  assert.equal(error.exitCode, 2);
  return error;
}

Deno.test("parseCli() reads the command, its flags and switches", () => {
  assert.deepEqual(
    parseCli([
      "serve",
      "--port",
      "8443",
      "--http-port=off",
      "--host",
      "0.0.0.0",
      "--cert-dir",
      "certs",
      "-c",
      "prod.toml",
      "--log-level",
      "debug",
      "--log-format",
      "pretty",
      "--no-tls",
      "--strict-port",
    ]),
    {
      command: "serve",
      positionals: [],
      flags: {
        port: "8443",
        "http-port": "off",
        host: "0.0.0.0",
        "cert-dir": "certs",
        config: "prod.toml",
        "log-level": "debug",
        "log-format": "pretty",
        "no-tls": true,
        "strict-port": true,
      },
      options: {},
      help: false,
      version: false,
    },
  );
});

Deno.test("parseCli() keeps dev's own flags apart and refuses them elsewhere", () => {
  const cli = parseCli(["dev", "./site", "--spa", "--ignore", "dist/**", "-p", "8000"]);
  assert.equal(cli.command, "dev");
  assert.deepEqual(cli.positionals, ["./site"]);
  assert.deepEqual(cli.flags, { port: "8000" });
  assert.deepEqual(cli.options, { spa: true, ignore: "dist/**" });
  assert.throws(() => parseCli(["serve", "--spa"]), /Flag --spa belongs to dev, not serve/);
});

Deno.test("parseCli() accepts flags before the command and short aliases", () => {
  const cli = parseCli(["-p", "9000", "serve", "-h"]);
  assert.equal(cli.command, "serve");
  assert.deepEqual(cli.flags, { port: "9000" });
  assert.equal(cli.help, true);
  assert.equal(parseCli(["-V"]).version, true);
  assert.equal(parseCli(["--version"]).version, true);
});

Deno.test("parseCli() defaults to help and reads help topics", () => {
  assert.deepEqual(parseCli([]), {
    command: "help",
    positionals: [],
    flags: {},
    options: {},
    help: false,
    version: false,
  });
  assert.deepEqual(parseCli(["help", "serve"]).positionals, ["serve"]);
  assert.equal(parseCli(["version"]).command, "version");
});

Deno.test("parseCli() suggests the flag an unknown one was meant to be", () => {
  assert.equal(
    usageError(["serve", "--prot", "80"]).message,
    "Unknown flag --prot: did you mean --port?",
  );
  assert.equal(
    usageError(["--log-levle", "debug"]).message,
    "Unknown flag --log-levle: did you mean --log-level?",
  );
  assert.equal(
    usageError(["--tls"]).message,
    "Unknown flag --tls: it is on by default; --no-tls turns it off",
  );
  assert.equal(
    usageError(["-x"]).message,
    "Unknown flag -x: run switchyard help to list the flags",
  );
});

Deno.test("parseCli() refuses unknown commands, missing values and extra arguments", () => {
  assert.equal(usageError(["srve"]).message, 'Unknown command "srve": did you mean serve?');
  assert.equal(
    usageError(["help", "bogus"]).message,
    'Unknown command "bogus": run switchyard help to list the commands',
  );
  assert.equal(
    usageError(["serve", "--port"]).message,
    "Missing value for --port: write --port <port>",
  );
  assert.equal(
    usageError(["serve", "-p", "--host", "x"]).message,
    "Missing value for -p: write -p <port>",
  );
  assert.equal(
    usageError(["serve", "--no-tls=false"]).message,
    "Flag --no-tls takes no value: write --no-tls alone",
  );
  assert.match(usageError(["serve", "extra"]).message, /^Too many arguments for serve: "extra"/);
});

Deno.test("parseCli() passes negative numbers on to config validation", async () => {
  const cli = parseCli(["serve", "-p", "-1"]);
  assert.deepEqual(cli.flags, { port: "-1" });
  await assert.rejects(
    loadConfig({ flags: cli.flags, env: {}, cwd: "/nonexistent" }),
    /^ConfigError: Invalid port = -1 \(from --port\): must be an integer from 0 to 65535$/,
  );
});

Deno.test("parseCli() flags are what loadConfig() accepts", async () => {
  const cli = parseCli([
    "serve",
    "-p",
    "8443",
    "--http-port",
    "8080",
    "--no-tls",
    "--log-format",
    "pretty",
  ]);
  const config = await loadConfig({ flags: cli.flags, env: {}, cwd: "/nonexistent" });
  assert.equal(config.port, 8443);
  assert.equal(config.httpPort, 8080);
  assert.equal(config.tls, false);
  assert.equal(config.logFormat, "pretty");
  assert.ok(CLI_FLAGS.some((flag) => flag.name === "config" && flag.short === "c"));
});
