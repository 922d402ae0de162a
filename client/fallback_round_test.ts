import assert from "node:assert/strict";
import fc from "fast-check";
import { tryInOrder } from "./fallback_round.ts";
import { closeError, SwitchyardClientError } from "./client_error.ts";
import { TRANSPORT_KINDS, type TransportKind } from "./transport.ts";

const never = () => false;

Deno.test("tryInOrder() falls through failures to the first that connects", async () => {
  const tried: string[] = [];
  const fallbacks: string[] = [];
  const outcome = await tryInOrder(TRANSPORT_KINDS, {
    attempt: (k) => {
      tried.push(k);
      return k === "sse" ? Promise.resolve() : Promise.reject(new Error(`${k} down`));
    },
    fallback: (from, to, reason) => fallbacks.push(`${from}>${to}:${reason}`),
    halted: never,
  });
  assert.deepEqual(outcome, { kind: "connected", transport: "sse" });
  assert.deepEqual(tried, ["webtransport", "websocket", "sse"]);
  assert.deepEqual(fallbacks, [
    "webtransport>websocket:webtransport down",
    "websocket>sse:websocket down",
  ]);
});

Deno.test("tryInOrder() stops at a permanent refusal without trying the rest", async () => {
  const tried: string[] = [];
  const outcome = await tryInOrder(TRANSPORT_KINDS, {
    attempt: (k) => {
      tried.push(k);
      return Promise.reject(closeError(3502, "bad token"));
    },
    fallback: () => assert.fail("no fallback after a permanent refusal"),
    halted: never,
  });
  assert.equal(outcome.kind, "stop");
  assert.equal(outcome.kind === "stop" && outcome.error.code, "ERR_UNAUTHORIZED");
  assert.deepEqual(tried, ["webtransport"]);
});

Deno.test("tryInOrder() ends the pass on an expired token", async () => {
  const outcome = await tryInOrder(TRANSPORT_KINDS, {
    attempt: () => Promise.reject(closeError(3004, "expired")),
    fallback: () => assert.fail(),
    halted: never,
  });
  assert.deepEqual(outcome, { kind: "token-expired" });
});

Deno.test("tryInOrder() treats transient close codes as a transport failure", () =>
  fc.assert(
    fc.asyncProperty(
      fc.array(fc.constantFrom(...TRANSPORT_KINDS), { minLength: 1, maxLength: 3 }),
      fc.array(fc.constantFrom(1006, 3000, 3001, 3002, 3003, 3005, 3006, 3007, 3008, 0), {
        minLength: 3,
        maxLength: 3,
      }),
      async (kinds, codes) => {
        const fallbacks: TransportKind[] = [];
        const outcome = await tryInOrder(kinds, {
          attempt: (k) => {
            const code = codes[kinds.indexOf(k)];
            return Promise.reject(
              code === 0
                ? new Error("timeout")
                : new SwitchyardClientError("ERR_INTERNAL", "x", code),
            );
          },
          fallback: (from) => fallbacks.push(from),
          halted: never,
        });
        assert.deepEqual(outcome, { kind: "failed" });
        assert.deepEqual(fallbacks, kinds.slice(0, -1));
      },
    ),
    { seed: 9 },
  ));
