import assert from "node:assert/strict";
import { exposedListeners } from "./_exposure.ts";

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue
   0: 0100007F:A028 00000000:0000 0A 00000000:00000000
   1: 00000000:A029 00000000:0000 0A 00000000:00000000
   2: 0A00000A:A029 0100007F:C956 01 00000000:00000000
   3: 0200007F:A02A 00000000:0000 0A 00000000:00000000
`;
const TCP6 = `  sl  local_address                         remote_address                        st
   0: 00000000000000000000000001000000:A028 00000000000000000000000000000000:0000 0A
   1: 00000000000000000000000000000000:A02B 00000000000000000000000000000000:0000 0A
`;
const read = (path: string) => path.endsWith("tcp6") ? TCP6 : TCP;

Deno.test("exposedListeners() reports listeners beyond loopback only", () => {
  assert.deepEqual(exposedListeners(0xa028, read), [], "127.0.0.1 and ::1");
  assert.deepEqual(
    exposedListeners(0xa029, read),
    ["0.0.0.0"],
    "an established socket is not a listener",
  );
  assert.deepEqual(exposedListeners(0xa02a, read), [], "all of 127.0.0.0/8 is loopback");
  assert.deepEqual(exposedListeners(0xa02b, read), ["[::]"]);
  assert.deepEqual(exposedListeners(1, () => ""), [], "no /proc: nothing found");
});

Deno.test("exposedListeners() sees a real listener on every interface, not one on loopback", () => {
  const wide = Deno.listen({ hostname: "0.0.0.0", port: 0 });
  const narrow = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    assert.deepEqual(exposedListeners((wide.addr as Deno.NetAddr).port), ["0.0.0.0"]);
    assert.deepEqual(exposedListeners((narrow.addr as Deno.NetAddr).port), []);
  } finally {
    wide.close();
    narrow.close();
  }
});
