import assert from "node:assert/strict";
import fc from "fast-check";
import { channelName } from "../../core/protocol.ts";
import { channelDoc, docChannel } from "./doc_channel.ts";

Deno.test("docChannel encodes what channel names cannot hold, one to one", () => {
  assert.equal(docChannel("sync:", "notes/alice"), "sync:notes/alice");
  assert.equal(docChannel("sync:", "plan b#bob%"), "sync:plan%20b%23bob%25");
  assert.equal(docChannel("sync:", "x".repeat(300)), null);
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 60, unit: "grapheme" }), (doc) => {
      const channel = docChannel("awareness:", doc)!;
      channelName(channel); // the hub accepts it
      assert.equal(channelDoc("awareness:", channel), doc);
    }),
  );
  assert.notEqual(docChannel("sync:", "a%20b"), docChannel("sync:", "a b"));
  assert.equal(channelDoc("sync:", "other:x"), null);
  assert.equal(channelDoc("sync:", "sync:%E0%A4%A"), null);
});
