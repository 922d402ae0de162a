/**
 * The `switchyard` command: `deno task cli <command> [flags]`.
 *
 * Human-facing output (the banner, help) goes to standard output; logs go to
 * standard error as JSON lines (or pretty lines with `--log-format pretty`).
 *
 * @module
 */

import { startSwitchyard, type Switchyard } from "../app/mod.ts";
import { DevService, SYS_NAMESPACE } from "../services/dev/dev_service.ts";
import { type Config, ConfigError, loadConfig } from "../config/mod.ts";
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
  if (cli.command === "dev") return await dev(cli.positionals[0] ?? ".", cli.flags, cli.options);
  return await serve(cli.flags);
}

async function dev(
  dir: string,
  flags: Record<string, string | boolean | undefined>,
  options: Readonly<Record<string, string | boolean>>,
): Promise<number> {
  try {
    if (!(await Deno.stat(dir)).isDirectory) {
      console.error(`switchyard: Cannot serve ${dir}: it is a file, not a folder`);
      return 1;
    }
  } catch {
    console.error(`switchyard: Cannot serve ${dir}: no such folder`);
    return 1;
  }
  const config = await configOrReport(flags);
  if (!config) return EXIT_CONFIG;
  const json = options["json-logs"] === true;
  const quiet = options.quiet === true;
  const log = createLogger({
    level: config.logLevel === "info" ? "warn" : config.logLevel,
    format: json ? "json" : "pretty",
  });
  const holder: { service?: DevService } = {};
  let app: Switchyard;
  try {
    app = await startSwitchyard(config, {
      log,
      demo: false,
      layout: "dev",
      namespaces: { sys: SYS_NAMESPACE },
      fallback: (req) => holder.service?.serve(req) ?? Promise.resolve(undefined),
    });
  } catch (err) {
    console.error(`switchyard: ${(err as Error).message}`);
    return 1;
  }
  const report = (line: string, fields: Record<string, unknown>) => {
    if (quiet) return;
    if (json) console.log(JSON.stringify({ time: new Date().toISOString(), ...fields }));
    else console.log(`${new Date().toTimeString().slice(0, 8)} ${line}`);
  };
  const service = holder.service = await DevService.start(app.hub, app.server, {
    root: dir,
    spa: options.spa === true,
    inject: options["no-inject"] !== true,
    ignore: typeof options.ignore === "string" ? options.ignore.split(",") : [],
    cors: options.cors === true,
    csp: typeof options.csp === "string" ? options.csp : undefined,
    report,
    log,
  });
  const page = `${app.server.httpUrl ?? app.server.httpsUrl}/`;
  const lines = [
    `Switchyard dev: serving ${dir}`,
    `  Local         ${page}`,
    app.server.httpsUrl ? `  HTTPS         ${app.server.httpsUrl}/` : "",
    ...lanUrls(config.host, app.server.httpUrl ?? app.server.httpsUrl ?? ""),
    "Watching for changes. Press Ctrl+C to stop.",
  ];
  if (json) {
    console.log(JSON.stringify({ msg: "Serving", dir, url: page, https: app.server.httpsUrl }));
  } else console.log(lines.filter((l) => l).join("\n"));
  if (options.open === true) openBrowser(page, log);
  const code = await untilSignal(app, log);
  await service.close();
  return code;
}

/** The configuration, or `undefined` after printing why it is invalid. */
async function configOrReport(
  flags: Record<string, string | boolean | undefined>,
): Promise<Config | undefined> {
  try {
    return await loadConfig({ flags, env: Deno.env.toObject(), cwd: Deno.cwd() });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`switchyard: ${err.message}`);
      return undefined;
    }
    throw err;
  }
}

/** LAN addresses to print when listening on every interface. */
function lanUrls(host: string, url: string): string[] {
  if (host !== "0.0.0.0" && host !== "::" || !url) return [];
  const port = new URL(url).port;
  const scheme = new URL(url).protocol;
  return Deno.networkInterfaces()
    .filter((nic) => nic.family === "IPv4" && !nic.address.startsWith("127."))
    .map((nic) => `  Network       ${scheme}//${nic.address}:${port}/`);
}

function openBrowser(url: string, log: ReturnType<typeof createLogger>): void {
  const command = Deno.build.os === "darwin"
    ? "open"
    : Deno.build.os === "windows"
    ? "explorer"
    : "xdg-open";
  try {
    new Deno.Command(command, { args: [url], stdout: "null", stderr: "null" }).spawn().status
      .catch(() => {});
  } catch {
    log.warn(`Cannot open a browser (${command} is missing): open ${url} yourself`);
  }
}

async function serve(flags: Record<string, string | boolean | undefined>): Promise<number> {
  const config = await configOrReport(flags);
  if (!config) return EXIT_CONFIG;
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

  return await untilSignal(app, log);
}

/** Wait for SIGINT/SIGTERM, then close `app`; resolves with the exit code. */
async function untilSignal(app: Switchyard, log: ReturnType<typeof createLogger>): Promise<number> {
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
