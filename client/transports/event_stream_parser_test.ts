import assert from "node:assert/strict";
import fc from "fast-check";
import { EventStreamParser, type ServerSentEvent } from "./event_stream_parser.ts";

const STREAM = 'event: open\ndata: {"conn":"c1"}\n\n' +
  ": keep-alive\n\n" +
  'id: 1\ndata: {"type":"ping"}\n\n' +
  "id: 2\r\ndata:two\r\ndata: lines\r\n\r\n" +
  "id: 3\rdata: cr\r\r" +
  "data\n\n";

const EVENTS: ServerSentEvent[] = [
  { event: "open", data: '{"conn":"c1"}', id: "" },
  { event: "message", data: '{"type":"ping"}', id: "1" },
  { event: "message", data: "two\nlines", id: "2" },
  { event: "message", data: "cr", id: "3" },
  { event: "message", data: "", id: "3" },
];

Deno.test("EventStreamParser.push() parses events, comments, ids and every line ending", () => {
  assert.deepEqual(new EventStreamParser().push(STREAM), EVENTS);
});

Deno.test("EventStreamParser.push() gives the same events for the input split at every point", () => {
  for (let i = 0; i <= STREAM.length; i++) {
    for (let j = i; j <= STREAM.length; j += 7) {
      const p = new EventStreamParser();
      const out = [
        ...p.push(STREAM.slice(0, i)),
        ...p.push(STREAM.slice(i, j)),
        ...p.push(STREAM.slice(j)),
      ];
      assert.deepEqual(out, EVENTS, `split at ${i}, ${j}`);
    }
  }
});

Deno.test("EventStreamParser.push() round-trips random JSON frames in random pieces", () => {
  fc.assert(
    fc.property(
      fc.array(fc.json(), { maxLength: 10 }),
      fc.array(fc.nat({ max: 30 }), { maxLength: 50 }),
      fc.constantFrom("\n", "\r\n", "\r"),
      (frames, cuts, eol) => {
        const text = frames.map((f, i) => `id: ${i}${eol}data: ${f}${eol}${eol}`).join("");
        const p = new EventStreamParser();
        const out: ServerSentEvent[] = [];
        let at = 0;
        for (const cut of cuts) {
          out.push(...p.push(text.slice(at, at + cut)));
          at = Math.min(text.length, at + cut);
        }
        out.push(...p.push(text.slice(at)));
        assert.deepEqual(out.map((e) => e.data), frames);
      },
    ),
    { seed: 7, numRuns: 300 },
  );
});
