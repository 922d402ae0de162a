/**
 * The central promise of the client: under random network drops, silent dead
 * links, transport switches (forced and automatic), refused transports,
 * duplicated deliveries and frames of two connections interleaving, every
 * publish is applied exactly once and every subscriber sees every publication
 * exactly once, in order.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { type Loopback, seeded } from "./_hub_loopback.ts";
import type { SwitchyardClient } from "./switchyard_client.ts";
import { deadline, setup, waitFor } from "./_test_util.ts";
import type { TransportKind } from "./transport.ts";

const KINDS: TransportKind[] = ["webtransport", "websocket", "sse"];

type Action =
  | { type: "drop" }
  | { type: "blackhole" }
  | { type: "dropTransport" }
  | { type: "force"; kind: TransportKind | null }
  | { type: "refuse"; kind: TransportKind; ms: number };

const action: fc.Arbitrary<Action> = fc.oneof(
  fc.constant({ type: "drop" as const }),
  fc.constant({ type: "blackhole" as const }),
  fc.constant({ type: "dropTransport" as const }),
  fc.record({
    type: fc.constant("force" as const),
    kind: fc.constantFrom<TransportKind | null>(...KINDS, null),
  }),
  fc.record({
    type: fc.constant("refuse" as const),
    kind: fc.constantFrom(...KINDS),
    ms: fc.integer({ min: 5, max: 60 }),
  }),
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runChaos(
  lb: Loopback,
  c: SwitchyardClient,
  chaos: [number, Action][],
): Promise<void> {
  for (const [wait, a] of chaos) {
    await sleep(wait);
    switch (a.type) {
      case "drop":
        lb.live().find((conn) => conn.kind === c.transport)?.drop();
        break;
      case "blackhole":
        lb.live().find((conn) => conn.kind === c.transport)?.blackhole();
        break;
      case "dropTransport":
        c.dropTransport();
        break;
      case "force":
        c.forceTransport(a.kind).catch(() => {});
        break;
      case "refuse":
        lb.behaviour[a.kind] = "refuse";
        setTimeout(() => lb.behaviour[a.kind] = "ok", a.ms);
        break;
    }
  }
}

const scenario = fc.record({
  seed: fc.nat(),
  duplicateRate: fc.constantFrom(0, 0.2, 0.5),
  maxDelayMs: fc.constantFrom(0, 2, 6),
  chaos: fc.array(fc.tuple(fc.integer({ min: 0, max: 15 }), action), { maxLength: 8 }),
});

Deno.test("SwitchyardClient loses and duplicates nothing under drops, switches and duplicates", async () => {
  await fc.assert(
    fc.asyncProperty(
      scenario,
      async ({ seed, duplicateRate, maxDelayMs, chaos }) => {
        const t = await setup({
          random: seeded(seed),
          duplicateRate,
          maxDelayMs,
          pingMs: 25,
          pingTimeoutMs: 25,
        });
        try {
          const c = t.client({ upgradeIntervalMs: 10, attemptTimeoutMs: 60 });
          const watcher = t.client({ upgradeIntervalMs: 0 });
          const got: number[] = [];
          const watched: number[] = [];
          const gaps: string[] = [];
          c.on("recovery", (r) => {
            if (!r.recovered) gaps.push(r.channel);
          });
          await c.subscribe("h:x", { onPublication: (p) => got.push(p.data as number) }).ready;
          await watcher.subscribe("h:x", { onPublication: (p) => watched.push(p.data as number) })
            .ready;

          const chaosDone = runChaos(t.lb, c, chaos);
          const sends: Promise<unknown>[] = [];
          for (let i = 1; i <= 30; i++) {
            sends.push(c.publish("h:x", i));
            sends.push(t.lb.hub.publish("h:x", 1000 + i));
            if (i % 3 === 0) await sleep(1);
          }
          await chaosDone;
          await sleep(70);
          for (const k of KINDS) t.lb.behaviour[k] = "ok";
          await deadline(c.forceTransport(null), "back to automatic");
          await deadline(Promise.all(sends), "every publish to be answered");

          const top = await t.lb.hub.history("h:x", { since: { offset: 0, epoch: "" } });
          const { publications } = await t.lb.hub.history("h:x", {
            since: { offset: 0, epoch: top.top.epoch },
          });
          const history = publications.map((p) => p.data as number);
          assert.equal(history.length, 60, "each publish applied exactly once");
          assert.equal(new Set(history).size, 60);
          await waitFor(() => got.length >= 60 && watched.length >= 60, "every delivery", 3000)
            .catch(() => {});
          assert.deepEqual(
            got,
            history,
            "the publisher's subscription saw everything once, in order",
          );
          assert.deepEqual(watched, history, "a quiet subscriber too");
          assert.deepEqual(gaps, [], "history covered every gap");
        } finally {
          await t.dispose();
        }
      },
    ),
    { numRuns: 40, seed: 20240601 },
  );
});

Deno.test("SwitchyardClient never leaves a silent gap on a channel without history", async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ seed, duplicateRate, maxDelayMs, chaos }) => {
      const t = await setup({
        random: seeded(seed),
        duplicateRate,
        maxDelayMs,
        pingMs: 25,
        pingTimeoutMs: 25,
      });
      try {
        const c = t.client({ upgradeIntervalMs: 10, attemptTimeoutMs: 60 });
        // What the application observes, in order: publications and declared gaps.
        const log: (number | "gap")[] = [];
        const sub = c.subscribe("live", {
          onPublication: (p) => log.push(p.offset),
          onRecovery: (r) => {
            if (!r.recovered) log.push("gap");
          },
        });
        await sub.ready;
        const chaosDone = runChaos(t.lb, c, chaos);
        let last = 0;
        for (let i = 1; i <= 40; i++) {
          last = (await t.lb.hub.publish("live", i)).offset;
          if (i % 3 === 0) await sleep(1);
        }
        await chaosDone;
        await sleep(70);
        for (const k of KINDS) t.lb.behaviour[k] = "ok";
        await deadline(c.forceTransport(null), "back to automatic");
        await deadline(c.connect(), "a connection");
        last = (await t.lb.hub.publish("live", 41)).offset;
        // Delivered, or skipped by a declared jump (no history): either way the position gets there.
        await waitFor(() => sub.position?.offset === last, "the position to reach the top", 3000);
        let previous = 0;
        let gapDeclared = false;
        for (const entry of log) {
          if (entry === "gap") {
            gapDeclared = true;
            continue;
          }
          assert.ok(entry > previous, `offset ${entry} after ${previous}: duplicate or backwards`);
          assert.ok(entry === previous + 1 || gapDeclared, `silent gap ${previous} → ${entry}`);
          previous = entry;
          gapDeclared = false;
        }
      } finally {
        await t.dispose();
      }
    }),
    { numRuns: 30, seed: 7 },
  );
});
