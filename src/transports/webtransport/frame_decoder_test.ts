import assert from "node:assert/strict";
import fc from "fast-check";
import { SwitchyardError } from "../../core/errors.ts";
import { encodeLengthPrefixed, FrameDecoder } from "./frame_decoder.ts";
import { concatBytes } from "../../core/bytes.ts";

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g)!.map((b) => parseInt(b, 16)));
}

/** Feed `chunks` in order; return the frames and the error code, if any. */
function decode(
  chunks: Uint8Array[],
  maxFrameBytes = 1024,
): { frames: string[]; error?: string } {
  const decoder = new FrameDecoder({ maxFrameBytes });
  const frames: string[] = [];
  try {
    for (const chunk of chunks) decoder.push(chunk, (f) => frames.push(f));
  } catch (err) {
    assert.ok(err instanceof SwitchyardError);
    return { frames, error: err.code };
  }
  return { frames };
}

Deno.test("encodeLengthPrefixed() writes a 4-byte big-endian byte length, then UTF-8", () => {
  assert.deepEqual(encodeLengthPrefixed("{}"), hex("000000027b7d"));
  assert.deepEqual(encodeLengthPrefixed(""), hex("00000000"));
  // "é" is 2 bytes, "€" 3, "😀" 4 (a surrogate pair): the prefix counts bytes, not characters.
  assert.deepEqual(encodeLengthPrefixed("é€😀"), hex("00000009c3a9e282acf09f9880"));
});

Deno.test("FrameDecoder.push() decodes exact bytes of two frames in one chunk", () => {
  const bytes = hex("000000027b7d" + "0000000f" + "7b2274797065223a2270696e67227d");
  assert.deepEqual(decode([bytes]), { frames: ["{}", '{"type":"ping"}'] });
});

Deno.test("FrameDecoder.push() gives the same frames for the input split at every byte", () => {
  const texts = ['{"type":"ping"}', "", "é€😀", '{"a":"' + "x".repeat(300) + '"}'];
  const bytes = concatBytes(texts.map(encodeLengthPrefixed));
  for (let i = 0; i <= bytes.length; i++) {
    assert.deepEqual(decode([bytes.subarray(0, i), bytes.subarray(i)]), { frames: texts }, `${i}`);
  }
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j += 7) {
      const parts = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
      assert.deepEqual(decode(parts), { frames: texts }, `${i}/${j}`);
    }
  }
  const single = [...bytes].map((b) => Uint8Array.of(b));
  assert.deepEqual(decode(single), { frames: texts });
});

Deno.test("FrameDecoder.push() refuses a length over the limit before its body arrives", () => {
  assert.deepEqual(decode([hex("00000401")], 1024), { frames: [], error: "ERR_MESSAGE_TOO_LARGE" });
  assert.deepEqual(decode([hex("00000400")], 1024), { frames: [] });
  assert.deepEqual(decode([hex("ffffffff")], 1024), { frames: [], error: "ERR_MESSAGE_TOO_LARGE" });
  // Split inside the prefix, after a good frame: the good frame still comes out first.
  assert.deepEqual(decode([hex("000000027b7d0000"), hex("0401")], 1024), {
    frames: ["{}"],
    error: "ERR_MESSAGE_TOO_LARGE",
  });
});

Deno.test("FrameDecoder.push() refuses a body that is not UTF-8, and everything after", () => {
  const decoder = new FrameDecoder({ maxFrameBytes: 100 });
  const frames: string[] = [];
  assert.throws(
    () => decoder.push(hex("00000002c328"), (f) => frames.push(f)),
    (e: SwitchyardError) => e.code === "ERR_BAD_FRAME",
  );
  assert.throws(
    () => decoder.push(hex("000000027b7d"), (f) => frames.push(f)),
    (e: SwitchyardError) => e.code === "ERR_BAD_FRAME",
  );
  assert.deepEqual(frames, []);
});

Deno.test("FrameDecoder.buffered counts bytes of the incomplete frame", () => {
  const decoder = new FrameDecoder({ maxFrameBytes: 100 });
  const none = () => assert.fail("no frame expected");
  decoder.push(hex("000000"), none);
  assert.equal(decoder.buffered, 3);
  decoder.push(hex("057b"), none);
  assert.equal(decoder.buffered, 5);
  const frames: string[] = [];
  decoder.push(hex("2261227d"), (f) => frames.push(f));
  assert.deepEqual(frames, ['{"a"}']);
  assert.equal(decoder.buffered, 0);
});

Deno.test("FrameDecoder.push() round-trips random frames split at random points", () => {
  fc.assert(
    fc.property(
      fc.array(fc.string({ unit: "grapheme", maxLength: 200 }), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      (texts, cuts) => {
        const bytes = concatBytes(texts.map(encodeLengthPrefixed));
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Uint8Array[] = [];
        let from = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.subarray(from, p));
          from = p;
        }
        assert.deepEqual(decode(chunks, 1024), { frames: texts });
      },
    ),
    { seed: 20_251_122, numRuns: 300 },
  );
});

Deno.test("FrameDecoder.push() never throws anything but a SwitchyardError on random bytes", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
      const result = decode(chunks, 32);
      if (result.error) {
        assert.ok(["ERR_MESSAGE_TOO_LARGE", "ERR_BAD_FRAME"].includes(result.error));
      }
    }),
    { seed: 7, numRuns: 500 },
  );
});
