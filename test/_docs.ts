/**
 * The code blocks of a markdown document, for tests that run the docs' examples.
 *
 * @module
 */

/** Every block fenced as exactly ```` ```lang ```` (so ```` ```ts no-run ```` is left out), with its first line. */
export function docExamples(markdown: string, lang = "ts"): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```" + lang) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== "```") end++;
    out.push({ line: start + 1, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return out;
}
