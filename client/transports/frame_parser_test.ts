import assert from "node:assert/strict";
import fc from "fast-check";
import { encodeLengthPrefixed, FrameParser } from "./frame_parser.ts";
import { SwitchyardClientError } from "../client_error.ts";
import { concatBytes } from "../../src/core/bytes.ts";

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fromHex(text: string): Uint8Array {
  return new Uint8Array(text.match(/../g)!.map((h) => parseInt(h, 16)));
}

const PING = '{"type":"ping"}';
const PING_HEX = "0000000f" + "7b2274797065223a2270696e67227d";
const UNICODE = '{"d":"é€😀"}';

Deno.test("encodeLengthPrefixed() writes a 4-byte big-endian length and UTF-8", () => {
  assert.equal(hex(encodeLengthPrefixed(PING)), PING_HEX);
  assert.equal(hex(encodeLengthPrefixed("")), "00000000");
  // é is 2 bytes, € 3, 😀 4: 8 ASCII + 9 = 17 bytes.
  assert.equal(hex(encodeLengthPrefixed(UNICODE)).slice(0, 8), "00000011");
  assert.equal(hex(encodeLengthPrefixed("x".repeat(0x010203)).subarray(0, 4)), "00010203");
});

Deno.test("FrameParser.push() decodes exact bytes", () => {
  assert.deepEqual(new FrameParser().push(fromHex(PING_HEX)), [PING]);
  assert.deepEqual(new FrameParser().push(fromHex("00000000")), [""]);
});

Deno.test("FrameParser.push() gives the same frames for the input split at every point", () => {
  const frames = [PING, "", UNICODE, '{"type":"pub","data":"' + "a".repeat(300) + '"}'];
  const bytes = concatBytes(frames.map(encodeLengthPrefixed));
  for (let i = 0; i <= bytes.length; i++) {
    const parser = new FrameParser();
    const out = [...parser.push(bytes.subarray(0, i)), ...parser.push(bytes.subarray(i))];
    assert.deepEqual(out, frames, `split at ${i}`);
    assert.equal(parser.buffered, 0);
  }
  for (let i = 0; i <= bytes.length; i += 3) {
    for (let j = i; j <= bytes.length; j += 5) {
      const parser = new FrameParser();
      const out = [
        ...parser.push(bytes.subarray(0, i)),
        ...parser.push(bytes.subarray(i, j)),
        ...parser.push(bytes.subarray(j)),
      ];
      assert.deepEqual(out, frames, `split at ${i} and ${j}`);
    }
  }
});

Deno.test("FrameParser.push() byte by byte keeps a partial frame buffered", () => {
  const bytes = encodeLengthPrefixed(UNICODE);
  const parser = new FrameParser();
  for (let i = 0; i < bytes.length - 1; i++) {
    assert.deepEqual(parser.push(bytes.subarray(i, i + 1)), []);
    assert.equal(parser.buffered, i + 1);
  }
  assert.deepEqual(parser.push(bytes.subarray(bytes.length - 1)), [UNICODE]);
});

Deno.test("FrameParser.push() reassembles random frames from random chunks", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: "grapheme", maxLength: 200 }), { maxLength: 20 }),
      fc.array(fc.nat({ max: 64 }), { maxLength: 100 }),
      (frames, cuts) => {
        const bytes = concatBytes(frames.map(encodeLengthPrefixed));
        const parser = new FrameParser();
        const out: string[] = [];
        let at = 0;
        for (const cut of cuts) {
          out.push(...parser.push(bytes.subarray(at, at + cut)));
          at = Math.min(bytes.length, at + cut);
        }
        out.push(...parser.push(bytes.subarray(at)));
        assert.deepEqual(out, frames);
        assert.equal(parser.buffered, 0);
      },
    ),
    { seed: 42, numRuns: 300 },
  );
});

Deno.test("FrameParser.push() refuses a length over the limit before the body arrives", () => {
  const parser = new FrameParser({ maxFrameBytes: 10 });
  assert.deepEqual(parser.push(encodeLengthPrefixed("0123456789")), ["0123456789"]);
  assert.throws(
    () => parser.push(fromHex("0000000b")),
    (e) => e instanceof SwitchyardClientError && e.code === "ERR_MESSAGE_TOO_LARGE",
  );
});

Deno.test("FrameParser.push() refuses a body that is not UTF-8", () => {
  assert.throws(
    () => new FrameParser().push(fromHex("00000002c328")),
    (e) => e instanceof SwitchyardClientError && e.code === "ERR_BAD_FRAME",
  );
});
