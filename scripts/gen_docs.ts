/**
 * Regenerates the parts of docs/ that come from code: the configuration
 * reference and the error table. `deno task docs` writes them; the docs test
 * fails when they are stale.
 *
 * @module
 */

import { configReference } from "../src/config/mod.ts";
import { type ErrorInfo, ERRORS } from "../src/core/errors.ts";

/** The error-code table of docs/protocol.md. */
export function errorTable(): string {
  const rows = Object.entries(ERRORS as Record<string, ErrorInfo>).map(([code, info]) => {
    const close = info.closeCode === undefined ? "—" : String(info.closeCode);
    const advice = info.closeCode === undefined
      ? "request error"
      : info.closeCode < 3500
      ? "reconnect"
      : "do not reconnect";
    return `| \`${code}\` | ${close} | ${advice} | ${info.summary} |`;
  });
  return ["| code | close code | client does | meaning |", "|---|---|---|---|", ...rows].join("\n");
}

/** Replace the text between `<!-- NAME -->` and `<!-- /NAME -->`. */
export function fill(doc: string, name: string, body: string): string {
  const start = `<!-- ${name} -->`;
  const end = `<!-- /${name} -->`;
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`Missing ${start} … ${end} markers`);
  return doc.slice(0, a + start.length) + "\n" + body.trim() + "\n" + doc.slice(b);
}

/** Format markdown the way `deno fmt` does, so generated docs stay fmt-clean. */
async function formatMarkdown(text: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error("deno fmt failed on generated markdown");
  return new TextDecoder().decode(out.stdout);
}

/** The generated docs, by path. */
export async function generatedDocs(root: URL): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const protocol = new URL("docs/protocol.md", root);
  out.set(
    protocol.pathname,
    await formatMarkdown(fill(await Deno.readTextFile(protocol), "ERRORS", errorTable())),
  );
  const configuration = new URL("docs/configuration.md", root);
  out.set(
    configuration.pathname,
    await formatMarkdown(
      fill(await Deno.readTextFile(configuration), "CONFIG_REFERENCE", configReference()),
    ),
  );
  return out;
}

if (import.meta.main) {
  for (const [path, text] of await generatedDocs(new URL("../", import.meta.url))) {
    await Deno.writeTextFile(path, text);
    console.log(`wrote ${path}`);
  }
}
