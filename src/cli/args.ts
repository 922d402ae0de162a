/**
 * Command-line parsing for the `switchyard` executable: commands, flags and
 * the usage errors they raise. Flags that set configuration come from the
 * configuration schema, so a new setting with a `flag` appears here and in
 * `--help` by itself.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ALL_FIELDS, type ConfigFlags, didYouMean } from "../config/mod.ts";

/** One command of the executable. */
export interface CommandSpec {
  /** Arguments after the command name, for the usage line, e.g. `[command]`. */
  readonly args: string;
  /** Most positional arguments the command takes. */
  readonly maxArgs: number;
  /** One line: what the command does. */
  readonly summary: string;
  /** `[command line, what it does]` pairs for help text. */
  readonly examples: readonly (readonly [string, string])[];
  /** Whether configuration flags apply to the command. */
  readonly configFlags: boolean;
}

/** Every command, in help order. */
export const COMMANDS = {
  dev: {
    args: "[dir]",
    maxArgs: 1,
    summary: "Serve a folder with instant live reload (CSS without a reload)",
    configFlags: true,
    examples: [
      ["switchyard dev", "Serve . on http://localhost:4433 with live reload"],
      ["switchyard dev ./site --spa --open", "Serve ./site as a single-page app, open a browser"],
      ["switchyard dev ./site --host 0.0.0.0", "Also serve other devices on the LAN"],
    ],
  },
  serve: {
    args: "",
    maxArgs: 0,
    summary: "Start the server with its demo page",
    configFlags: true,
    examples: [
      ["switchyard serve", "Serve on https://localhost:4433 and http://localhost:4480"],
      ["switchyard serve -p 8443 --host 0.0.0.0", "Listen on every interface, port 8443"],
      ["SWITCHYARD_LOG_LEVEL=debug switchyard serve -c prod.toml", "Use prod.toml, log more"],
    ],
  },
  help: {
    args: "[command]",
    maxArgs: 1,
    summary: "Show help for switchyard or one command",
    configFlags: false,
    examples: [["switchyard help serve", "Show the flags of serve"]],
  },
  version: {
    args: "",
    maxArgs: 0,
    summary: "Print the version",
    configFlags: false,
    examples: [["switchyard version", "Print the version"]],
  },
} as const satisfies Record<string, CommandSpec>;

/** A command name. */
export type CommandName = keyof typeof COMMANDS;

/** One command-line flag, for parsing and for help text. */
export interface CliFlag {
  /** Long name without dashes. */
  readonly name: string;
  /** One-letter alias. */
  readonly short?: string;
  /** Placeholder of the value; absent for switches. */
  readonly arg?: string;
  /** One line for help text. */
  readonly doc: string;
  /** Default shown in help text. */
  readonly default?: string;
  /** Whether the flag sets configuration (and so only applies to commands that read it). */
  readonly config: boolean;
  /** Commands the flag belongs to, when it is not a configuration flag of every command. */
  readonly commands?: readonly string[];
}

/** Flags of `switchyard dev` that are not configuration. */
export const DEV_FLAGS: readonly CliFlag[] = [
  {
    name: "spa",
    doc: "Answer unknown page paths with /index.html",
    config: false,
    commands: ["dev"],
  },
  {
    name: "no-inject",
    doc: "Do not add the live-reload client to HTML pages",
    config: false,
    commands: ["dev"],
  },
  { name: "open", doc: "Open the page in a browser", config: false, commands: ["dev"] },
  {
    name: "quiet",
    short: "q",
    doc: "Print only the URLs and errors",
    config: false,
    commands: ["dev"],
  },
  { name: "json-logs", doc: "Log JSON lines instead of text", config: false, commands: ["dev"] },
  { name: "cors", doc: "Allow any origin to fetch files (CORS)", config: false, commands: ["dev"] },
  {
    name: "csp",
    arg: "policy",
    doc:
      "Serve pages with this Content-Security-Policy (plus what live reload needs); off for none",
    config: false,
    commands: ["dev"],
  },
  {
    name: "ignore",
    arg: "globs",
    doc: "More paths not to watch, comma-separated (e.g. dist/**,*.log)",
    config: false,
    commands: ["dev"],
  },
];

/** Every flag, in help order: `--config`, the configuration flags, `--help`, `--version`. */
export const CLI_FLAGS: readonly CliFlag[] = [
  {
    name: "config",
    short: "c",
    arg: "file",
    doc: "Configuration file",
    default: "./switchyard.toml if it exists",
    config: true,
  },
  ...ALL_FIELDS.flatMap((field): CliFlag[] =>
    field.flag
      ? [{
        name: field.flag.name,
        short: field.flag.short,
        arg: field.flag.arg,
        doc: field.flag.doc ?? field.doc,
        default: field.flag.arg ? String(field.default) : undefined,
        config: true,
      }]
      : []
  ),
  ...DEV_FLAGS,
  { name: "help", short: "h", doc: "Show help", config: false },
  { name: "version", short: "V", doc: "Print the version", config: false },
];

/** The outcome of {@link parseCli}. */
export interface ParsedCli {
  /** The command; `help` when none was given. */
  readonly command: CommandName;
  /** Arguments after the command. */
  readonly positionals: readonly string[];
  /** Configuration flags by long name, ready for `loadConfig({ flags })`. */
  readonly flags: ConfigFlags;
  /** The command's own flags (e.g. dev's `spa`), by long name. */
  readonly options: Readonly<Record<string, string | boolean>>;
  /** `--help` or `-h` was given: show `helpText(command)` instead of running. */
  readonly help: boolean;
  /** `--version` or `-V` was given: print the version instead of running. */
  readonly version: boolean;
}

/** A command line that cannot be understood; the process should exit with `exitCode`. */
export class UsageError extends Error {
  /** Stable code of every usage error. */
  readonly code = "ERR_USAGE";
  /** Exit code for usage errors, as BSD `sysexits` and most CLIs use. */
  readonly exitCode = 2;

  /** Builds the error; `message` names the problem and the fix. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Parses `argv` (without the executable), e.g. `Deno.args`.
 *
 * Flags may come before or after the command; `--` ends the flags.
 *
 * @throws {UsageError} For an unknown command or flag (with a suggestion), a
 * missing flag value, a value given to a switch, or too many arguments.
 *
 * @example
 * ```ts
 * import { parseCli } from "./args.ts";
 * const cli = parseCli(["serve", "--port", "8443", "--no-tls"]);
 * cli.command; // "serve"
 * cli.flags; // { port: "8443", "no-tls": true }
 * ```
 */
export function parseCli(argv: readonly string[]): ParsedCli {
  const options = Object.fromEntries(
    CLI_FLAGS.map((flag) => [
      flag.name,
      {
        type: flag.arg ? "string" as const : "boolean" as const,
        ...(flag.short ? { short: flag.short } : {}),
      },
    ]),
  );
  const { tokens } = parseArgs({
    args: [...argv],
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const flags: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    if (token.kind !== "option") continue;
    const flag = CLI_FLAGS.find((candidate) => candidate.name === token.name);
    if (!flag) throw unknownFlag(token.rawName);
    if (flag.arg) {
      if (token.value === undefined || (!token.inlineValue && /^-\D/.test(token.value))) {
        throw new UsageError(
          `Missing value for ${token.rawName}: write ${token.rawName} <${flag.arg}>`,
        );
      }
      flags[flag.name] = token.value;
    } else {
      if (token.inlineValue) {
        throw new UsageError(`Flag ${token.rawName} takes no value: write ${token.rawName} alone`);
      }
      flags[flag.name] = true;
    }
  }
  const [name, ...rest] = positionals;
  const command = name === undefined ? "help" : commandNamed(name);
  const help = flags.help === true;
  const version = flags.version === true;
  delete flags.help;
  delete flags.version;
  if (!help && rest.length > COMMANDS[command].maxArgs) {
    throw new UsageError(
      `Too many arguments for ${command}: ${rest.map((arg) => JSON.stringify(arg)).join(" ")}; ` +
        `usage: switchyard ${command} ${COMMANDS[command].args}`.trimEnd(),
    );
  }
  if (command === "help" && rest[0] !== undefined) commandNamed(rest[0]);
  const own: Record<string, string | boolean> = {};
  for (const flag of CLI_FLAGS) {
    if (!flag.commands || !(flag.name in flags)) continue;
    if (!flag.commands.includes(command)) {
      throw new UsageError(
        `Flag --${flag.name} belongs to ${flag.commands.join(", ")}, not ${command}`,
      );
    }
    own[flag.name] = flags[flag.name];
    delete flags[flag.name];
  }
  return { command, positionals: rest, flags, options: own, help, version };
}

function commandNamed(name: string): CommandName {
  if (Object.hasOwn(COMMANDS, name)) return name as CommandName;
  const guess = didYouMean(name, Object.keys(COMMANDS));
  throw new UsageError(
    `Unknown command "${name}": ` +
      (guess ? `did you mean ${guess}?` : `run switchyard help to list the commands`),
  );
}

function unknownFlag(rawName: string): UsageError {
  const isShort = !rawName.startsWith("--");
  if (!isShort && CLI_FLAGS.some((flag) => flag.name === `no-${rawName.slice(2)}`)) {
    return new UsageError(
      `Unknown flag ${rawName}: it is on by default; --no-${rawName.slice(2)} turns it off`,
    );
  }
  const guess = isShort ? undefined : didYouMean(
    rawName.slice(2),
    CLI_FLAGS.map((flag) => flag.name),
  );
  return new UsageError(
    `Unknown flag ${rawName}: ` +
      (guess ? `did you mean --${guess}?` : "run switchyard help to list the flags"),
  );
}
