import assert from "node:assert/strict";
import fc from "fast-check";
import { channelName, type ClientFrame, decodeClientFrame, encodeFrame } from "./protocol.ts";
import { SwitchyardError } from "./errors.ts";

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SwitchyardError);
    return err.code;
  }
  return "none";
}

Deno.test("decodeClientFrame() accepts each frame type exactly as documented", () => {
  const frames = [
    '{"type":"connect","id":1}',
    '{"type":"connect","id":1,"token":"t","resume":{"session":"s","key":"k"},"subs":{"a:b":{"since":{"offset":3,"epoch":"e"}}}}',
    '{"type":"subscribe","id":2,"channel":"news"}',
    '{"type":"unsubscribe","id":3,"channel":"news"}',
    '{"type":"publish","id":4,"seq":1,"channel":"news","data":null}',
    '{"type":"rpc","id":5,"seq":2,"method":"m"}',
    '{"type":"presence","id":6,"channel":"c"}',
    '{"type":"refresh","id":7,"token":"t"}',
    '{"type":"ping"}',
    '{"type":"pong"}',
    '{"type":"close"}',
  ];
  for (const text of frames) assert.deepEqual(decodeClientFrame(text), JSON.parse(text));
});

Deno.test("decodeClientFrame() refuses malformed frames with ERR_BAD_FRAME", () => {
  const bad = [
    "",
    "not json",
    "[]",
    "null",
    '"str"',
    "{}",
    '{"type":1}',
    '{"type":"bogus"}',
    '{"type":"connect"}',
    '{"type":"connect","id":-1}',
    '{"type":"connect","id":1.5}',
    '{"type":"connect","id":1,"token":5}',
    '{"type":"connect","id":1,"resume":{"session":"s"}}',
    '{"type":"connect","id":1,"subs":[]}',
    '{"type":"connect","id":1,"subs":{"a":{"since":{"offset":"1","epoch":"e"}}}}',
    '{"type":"subscribe","id":1}',
    '{"type":"publish","id":1,"seq":0,"channel":"c","data":1}',
    '{"type":"publish","id":1,"seq":1,"channel":"c"}',
    '{"type":"rpc","id":1,"seq":1,"method":""}',
    '{"type":"refresh","id":1}',
  ];
  for (const text of bad) assert.equal(code(() => decodeClientFrame(text)), "ERR_BAD_FRAME", text);
});

Deno.test("channelName() refuses empty, long and control-character names", () => {
  assert.equal(code(() => channelName("")), "ERR_BAD_CHANNEL");
  assert.equal(code(() => channelName("x".repeat(256))), "ERR_BAD_CHANNEL");
  assert.equal(code(() => channelName("a b")), "ERR_BAD_CHANNEL");
  assert.equal(code(() => channelName("a\u0000")), "ERR_BAD_CHANNEL");
  assert.equal(channelName("chat:dm#alice,bob"), "chat:dm#alice,bob");
  assert.equal(
    code(() => decodeClientFrame('{"type":"subscribe","id":1,"channel":""}')),
    "ERR_BAD_CHANNEL",
  );
});

const channel = fc.stringMatching(/^[a-z0-9:#,_-]{1,40}$/);
const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)));
const frame: fc.Arbitrary<ClientFrame> = fc.oneof(
  fc.record({ type: fc.constant("subscribe" as const), id: fc.nat(), channel }),
  fc.record({
    type: fc.constant("publish" as const),
    id: fc.nat(),
    seq: fc.integer({ min: 1 }),
    channel,
    data: json,
  }),
  fc.record({
    type: fc.constant("rpc" as const),
    id: fc.nat(),
    seq: fc.integer({ min: 1 }),
    method: fc.string({ minLength: 1 }),
    data: json,
  }),
  fc.record({
    type: fc.constant("connect" as const),
    id: fc.nat(),
    token: fc.string(),
    subs: fc.dictionary(
      channel,
      fc.record({ since: fc.record({ offset: fc.nat(), epoch: fc.string() }) }),
    ),
  }),
);

Deno.test("encodeFrame() and decodeClientFrame() round-trip every valid frame", () => {
  fc.assert(fc.property(frame, (f) => {
    assert.deepEqual(decodeClientFrame(encodeFrame(f)), JSON.parse(JSON.stringify(f)));
  }));
});

Deno.test("decodeClientFrame() never throws anything but ERR_BAD_FRAME/ERR_BAD_CHANNEL", () => {
  fc.assert(fc.property(fc.oneof(fc.string(), fc.json()), (text) => {
    const c = code(() => decodeClientFrame(text));
    assert.ok(["none", "ERR_BAD_FRAME", "ERR_BAD_CHANNEL"].includes(c), c);
  }));
});
