/**
 * The `switchyard` command: `deno task cli <command> [flags]`.
 *
 * Human-facing output (the banner, help) goes to standard output; logs go to
 * standard error as JSON lines (or pretty lines with `--log-format pretty`).
 *
 * @module
 */

import { startSwitchyard, type Switchyard } from "../app/mod.ts";
import { ConfigError, loadConfig } from "../config/mod.ts";
import { createLogger } from "../ops/logger.ts";
import { parseCli, UsageError } from "./args.ts";
import { helpText } from "./help.ts";
import { VERSION, versionText } from "./version.ts";
import type { CommandName } from "./args.ts";

/** Exit code for a configuration error (sysexits EX_CONFIG). */
const EXIT_CONFIG = 78;

/** Run the CLI with `argv`; resolves with the exit code once the command is over. */
export async function main(argv: readonly string[]): Promise<number> {
  let cli;
  try {
    cli = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`switchyard: ${err.message}\nRun "switchyard help" for usage.`);
      return err.exitCode;
    }
    throw err;
  }
  if (cli.version || cli.command === "version") {
    console.log(versionText());
    return 0;
  }
  if (cli.command === "help") {
    console.log(helpText(cli.positionals[0] as CommandName | undefined));
    return 0;
  }
  if (cli.help) {
    console.log(helpText(cli.command));
    return 0;
  }
  return await serve(cli.flags);
}

async function serve(flags: Record<string, string | boolean | undefined>): Promise<number> {
  let config;
  try {
    config = await loadConfig({ flags, env: Deno.env.toObject(), cwd: Deno.cwd() });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`switchyard: ${err.message}`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel, format: config.logFormat });
  let app: Switchyard;
  try {
    app = await startSwitchyard(config, { log });
  } catch (err) {
    const code = (err as { code?: string }).code;
    console.error(`switchyard: ${(err as Error).message}`);
    return code === "ERR_PORT_IN_USE" ? 1 : code?.startsWith("ERR_CONFIG") ? EXIT_CONFIG : 1;
  }
  const { server, certificates } = app;
  const page = server.httpUrl ?? server.httpsUrl;
  log.info("Listening", {
    version: VERSION,
    http: server.httpUrl,
    https: server.httpsUrl,
    webtransport: server.quicPort === undefined ? undefined : `udp/${server.quicPort}`,
  });
  const lines = [
    `Switchyard ${VERSION}`,
    `  Status page   ${page}/`,
    server.httpsUrl ? `  HTTPS         ${server.httpsUrl}  (HTTP/1.1, HTTP/2)` : "",
    server.quicPort !== undefined
      ? `  WebTransport  ${server.httpsUrl}/switchyard/wt  (QUIC on UDP ${server.quicPort})`
      : "",
    server.httpUrl ? `  HTTP          ${server.httpUrl}` : "",
    `  Metrics       ${page}/metrics`,
    certificates ? `  Local CA      ${config.certDir}/ca.crt` : "",
    "Press Ctrl+C to stop.",
  ];
  console.log(lines.filter((l) => l).join("\n"));

  const stopped = Promise.withResolvers<number>();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn("Second signal: exiting now", { signal });
      stopped.resolve(130);
      return;
    }
    stopping = true;
    log.info("Shutting down: clients are told to reconnect", { signal });
    app.close().then(() => stopped.resolve(0), (err) => {
      log.error("Shutdown failed", { error: String(err) });
      stopped.resolve(1);
    });
  };
  const onInt = () => stop("SIGINT");
  const onTerm = () => stop("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  Deno.addSignalListener("SIGTERM", onTerm);
  const code = await stopped.promise;
  Deno.removeSignalListener("SIGINT", onInt);
  Deno.removeSignalListener("SIGTERM", onTerm);
  log.info("Stopped", { code });
  return code;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
