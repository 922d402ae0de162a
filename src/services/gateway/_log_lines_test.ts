import assert from "node:assert/strict";
import { LogRing, MAX_LINE_LENGTH, pumpLines } from "./_log_lines.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(chunks.map((chunk) => encoder.encode(chunk)));
}

Deno.test("pumpLines() splits lines across chunks, drops CRLF and cuts endless lines", async () => {
  const lines: string[] = [];
  const long = "x".repeat(MAX_LINE_LENGTH + 10);
  await pumpLines(streamOf("a\r\nb", "c\n\n", "é", "\n", long, "\ntail"), (l) => lines.push(l));
  assert.deepEqual(lines, ["a", "bc", "", "é", "x".repeat(MAX_LINE_LENGTH), "", "tail"]);
});

Deno.test("LogRing keeps the last lines in order", () => {
  const ring = new LogRing(3);
  for (const text of ["1", "2", "3", "4", "5"]) ring.push({ stream: "stdout", text, at: 0 });
  assert.deepEqual(ring.toArray().map((l) => l.text), ["3", "4", "5"]);
});
