/**
 * Help text of the `switchyard` executable, built from the command and flag
 * tables of `args.ts`.
 *
 * @module
 */

import { CLI_FLAGS, type CliFlag, type CommandName, COMMANDS } from "./args.ts";
import { VERSION } from "./version.ts";

const WIDTH = 100;
const DOCS = "Docs: docs/configuration.md";

/**
 * Help for the executable, or for one command when `command` is given.
 *
 * Lists the usage line, a one-line description, the commands, every flag with
 * its default, examples and where the docs are.
 *
 * @example
 * ```ts
 * import { helpText } from "./help.ts";
 * console.log(helpText("serve"));
 * ```
 */
export function helpText(command?: CommandName): string {
  return (command === undefined ? generalHelp() : commandHelp(command)).join("\n") + "\n";
}

function generalHelp(): string[] {
  const commands = Object.entries(COMMANDS).map(([name, spec]): [string, string] => [
    `${name} ${spec.args}`.trimEnd(),
    spec.summary,
  ]);
  return [
    `switchyard ${VERSION}: one realtime server for web apps, every transport`,
    "",
    "Usage: switchyard <command> [flags]",
    "",
    "Commands:",
    ...columns(commands),
    "",
    "Flags:",
    ...columns(CLI_FLAGS.filter((flag) => !flag.commands).map(flagRow)),
    "",
    ...environmentNote(),
    "",
    "Examples:",
    ...columns([COMMANDS.dev.examples[0], ...COMMANDS.serve.examples, ...COMMANDS.help.examples]),
    "",
    DOCS,
  ];
}

function commandHelp(command: CommandName): string[] {
  const spec = COMMANDS[command];
  const flags = CLI_FLAGS.filter((flag) =>
    (spec.configFlags || !flag.config) && (!flag.commands || flag.commands.includes(command))
  );
  return [
    `Usage: switchyard ${command} ${spec.args ? `${spec.args} ` : ""}[flags]`,
    "",
    spec.summary,
    ...(command === "dev"
      ? [
        "",
        ...wrap(
          "In dev, --port is the page's port: plain HTTP on TCP and WebTransport on UDP " +
            "(default 4433); HTTPS is on the next port; --http-port does not apply.",
          "",
          100,
        ),
      ]
      : []),
    "",
    "Flags:",
    ...columns(flags.map(flagRow)),
    ...(spec.configFlags ? ["", ...environmentNote()] : []),
    "",
    "Examples:",
    ...columns(spec.examples),
    "",
    DOCS,
  ];
}

function environmentNote(): string[] {
  return wrap(
    "Every flag that sets a value can also be set in switchyard.toml or with a SWITCHYARD_* " +
      "environment variable (SWITCHYARD_PORT=8443); flags win over both.",
    "",
    WIDTH,
  );
}

function flagRow(flag: CliFlag): [string, string] {
  const names = `${flag.short ? `-${flag.short}, ` : "    "}--${flag.name}`;
  const doc = flag.doc.replaceAll("`", "");
  return [
    flag.arg ? `${names} <${flag.arg}>` : names,
    flag.default === undefined ? doc : `${doc} (default: ${flag.default})`,
  ];
}

/** Two aligned columns, the second wrapped to {@link WIDTH}. */
function columns(rows: readonly (readonly [string, string])[]): string[] {
  const left = Math.max(...rows.map(([name]) => name.length)) + 4;
  const indent = " ".repeat(left);
  return rows.flatMap(([name, text]) => {
    const [first, ...more] = wrap(text, indent, WIDTH);
    return [`  ${name.padEnd(left - 2)}${first.trimStart()}`, ...more];
  });
}

function wrap(text: string, indent: string, width: number): string[] {
  const lines: string[] = [];
  let line = indent;
  for (const word of text.split(" ")) {
    if (line.trim() !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent;
    }
    line += line.trim() === "" ? word : ` ${word}`;
  }
  lines.push(line);
  return lines;
}
