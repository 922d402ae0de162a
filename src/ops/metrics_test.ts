import assert from "node:assert/strict";
import { MemoryBroker } from "../broker/memory/memory_broker.ts";
import {
  ANONYMOUS,
  DEFAULT_LIMITS,
  DEFAULT_NAMESPACE,
  DEFAULT_TIMING,
  Hub,
  Namespaces,
} from "../core/mod.ts";
import { createMetrics } from "./metrics.ts";

const LATENCY = "switchyard_request_duration_seconds";
const BOUNDS = [
  ...["0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05"],
  ...["0.1", "0.25", "1", "+Inf"],
];

function newHub(): Hub {
  const broker = new MemoryBroker();
  return new Hub({
    broker,
    presence: broker,
    authenticator: ANONYMOUS,
    namespaces: new Namespaces(DEFAULT_NAMESPACE),
    limits: DEFAULT_LIMITS,
    session: DEFAULT_TIMING,
  });
}

/** The sample lines of `body` whose name starts with `prefix`, without comments. */
function samples(body: string, prefix: string): string[] {
  return body.split("\n").filter((l) => l.startsWith(prefix));
}

/** The lines of one histogram series: its cumulative bucket counts, then sum and count. */
function series(type: string, cumulative: number[], sum: number, count: number): string[] {
  return [
    ...BOUNDS.map((le, i) => `${LATENCY}_bucket{le="${le}",type="${type}"} ${cumulative[i]}`),
    `${LATENCY}_sum{type="${type}"} ${sum}`,
    `${LATENCY}_count{type="${type}"} ${count}`,
  ];
}

/**
 * Checks the Prometheus text format 0.0.4 as a scraper reads it: every sample
 * is `name{labels} value` under a `# HELP` and `# TYPE` of its family.
 */
function assertValidExposition(body: string): void {
  assert.ok(body.endsWith("\n"), "exposition ends with a newline");
  const typed = new Map<string, string>();
  const label = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`;
  const sample = new RegExp(
    String.raw`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{${label}(?:,${label})*\})? (\S+)$`,
  );
  for (const line of body.split("\n")) {
    if (line === "") continue;
    const comment = line.match(/^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/);
    if (comment) {
      if (comment[1] === "TYPE") typed.set(comment[2], comment[3]);
      continue;
    }
    const m = line.match(sample);
    assert.ok(m, `not a sample line: ${line}`);
    assert.ok(
      // prom-client writes NaN as "Nan"; Prometheus parses it case-insensitively.
      /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]Inf$|^nan$/i.test(m[2]),
      `bad value: ${line}`,
    );
    const family = m[1].replace(/_(bucket|sum|count)$/, "");
    assert.ok(typed.has(m[1]) || typed.has(family), `sample before its # TYPE: ${line}`);
  }
  assert.equal(typed.get(LATENCY), "histogram");
}

Deno.test("metrics.ts loads without prom-client: it is only imported dynamically", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL("./metrics.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const modules = new Map(graph.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const statics: string[] = [];
  const walk = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const d of modules.get(specifier)?.dependencies ?? []) {
      if (!d.code || d.isDynamic) continue;
      statics.push(d.code.specifier);
      walk(d.code.specifier);
    }
  };
  walk(graph.roots[0]);
  assert.ok(statics.length > 0);
  assert.deepEqual(statics.filter((s) => s.includes("prom-client")), []);
});

Deno.test("Metrics.render() exports request latencies as a cumulative histogram", async () => {
  const metrics = createMetrics();
  const request = metrics.observer.request!;
  request("publish", 0.0001); // on a bound: counted in that bucket
  request("publish", 0.0003);
  request("publish", 0.07);
  request("publish", 3); // above the last bound: only in +Inf
  request("subscribe", 0.002);
  const { contentType, body } = await metrics.render();
  assert.equal(contentType, "text/plain; version=0.0.4; charset=utf-8");
  assertValidExposition(body);
  assert.ok(body.includes(`# HELP ${LATENCY} Time to handle a client request, by frame type\n`));
  assert.deepEqual(samples(body, `${LATENCY}_`), [
    ...series("publish", [1, 1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 4], 0.0001 + 0.0003 + 0.07 + 3, 4),
    ...series("subscribe", [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1], 0.002, 1),
  ]);
});

Deno.test("Metrics.render() counts reported fallbacks by transport", async () => {
  const metrics = createMetrics();
  const connected = metrics.observer.connected!;
  connected("sse", 2, false);
  connected("websocket", 0, false);
  connected("sse", 1, true);
  connected("webtransport", 4, false);
  const { body } = await metrics.render();
  assertValidExposition(body);
  assert.ok(body.includes("# TYPE switchyard_fallbacks_total counter\n"));
  assert.deepEqual(samples(body, "switchyard_fallbacks_total"), [
    'switchyard_fallbacks_total{transport="sse"} 3',
    'switchyard_fallbacks_total{transport="webtransport"} 4',
  ]);
});

Deno.test("Metrics.render() again exports what was observed since, once per metric", async () => {
  const metrics = createMetrics();
  metrics.observer.request!("ping", 0.5);
  const [a, b] = await Promise.all([metrics.render(), metrics.render()]);
  assert.equal(samples(a.body, `${LATENCY}_count`)[0], `${LATENCY}_count{type="ping"} 1`);
  assert.deepEqual(samples(a.body, LATENCY), samples(b.body, LATENCY));

  metrics.observer.request!("ping", 0.001);
  metrics.observer.connected!("websocket", 1, false);
  const { body } = await metrics.render();
  assertValidExposition(body);
  assert.deepEqual(
    samples(body, `${LATENCY}_`),
    series("ping", [0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2], 0.5 + 0.001, 2),
  );
  assert.deepEqual(samples(body, "switchyard_fallbacks_total"), [
    'switchyard_fallbacks_total{transport="websocket"} 1',
  ]);
  for (const line of body.split("\n").filter((l) => l.startsWith("# TYPE "))) {
    assert.equal(body.split(`${line}\n`).length, 2, `${line} appears once`);
  }
  assert.match(body, /^switchyard_process_process_resident_memory_bytes \d+$/m);
});

Deno.test("Metrics.render() reads the hub bound after the first scrape", async () => {
  const metrics = createMetrics();
  const before = await metrics.render();
  assert.deepEqual(samples(before.body, "switchyard_connections{"), []);

  const hub = newHub();
  metrics.bind(hub);
  hub.stats.connectionOpened("websocket");
  hub.stats.connectionOpened("websocket");
  hub.stats.connectionOpened("sse");
  hub.stats.connectionClosed("websocket");
  const { body } = await metrics.render();
  assertValidExposition(body);
  assert.deepEqual(samples(body, "switchyard_connections"), [
    'switchyard_connections{transport="webtransport"} 0',
    'switchyard_connections{transport="websocket"} 1',
    'switchyard_connections{transport="sse"} 1',
    'switchyard_connections_opened_total{transport="webtransport"} 0',
    'switchyard_connections_opened_total{transport="websocket"} 2',
    'switchyard_connections_opened_total{transport="sse"} 1',
  ]);
  assert.match(body, /^switchyard_sessions 0$/m);
});
