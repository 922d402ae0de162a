/**
 * Prometheus metrics for `GET /metrics`, read from the hub's counters at
 * scrape time so the fan-out path only increments plain numbers: the hub
 * observer feeds a {@linkcode BucketHistogram} and a per-transport count,
 * never prom-client.
 *
 * prom-client is imported on the first `render()`, not when this module
 * loads: importing it costs about 70 ms of start-up and 20 MB of RSS in Deno,
 * which a server nobody scrapes should not pay. The registry is built once, on
 * that first scrape, so the default process metrics that sample over time
 * (event-loop delay, GC) start sampling then: the first scrape has no
 * event-loop delay samples yet (its mean is `Nan`), later ones cover the time
 * since the first.
 *
 * @module
 */

import type { Metric, Registry } from "prom-client";
import type { Hub, HubObserver } from "../core/hub.ts";
import { TRANSPORT_KINDS, type TransportKind } from "../core/connection.ts";
import { BucketHistogram } from "./_bucket_histogram.ts";

/** Counters of the document sync service, read at scrape time. */
export interface SyncStats {
  docsLoaded: number;
  updatesApplied: number;
  commits: number;
  compactions: number;
}

/** Counters of the session gateway, read at scrape time. */
export interface GatewayStats {
  /** Sessions known to the gateway, by state (`starting`, `ready`, `crashed`, `stopped`). */
  sessions: Record<string, number>;
  /** Dev-server processes started: first starts and restarts after a crash. */
  processStarts: number;
  /** Processes that exited on their own (crashed), ready or not. */
  crashes: number;
  /** HTTP requests and WebSocket upgrades proxied to a session. */
  proxied: number;
  /** Proxied WebSockets open now. */
  websockets: number;
}

/** What the observers accumulate, and the hub and the services once bound. */
interface Sources {
  hub: Hub | undefined;
  sync: (() => SyncStats) | undefined;
  gateway: (() => GatewayStats) | undefined;
  fallbacks: Map<TransportKind, number>;
  latency: BucketHistogram;
  commits: BucketHistogram;
}

/** A metrics registry bound to one hub. */
export interface Metrics {
  /** Pass to the hub as its observer (latency histograms). */
  observer: HubObserver;
  /** Attach the hub whose counters are exported. */
  bind(hub: Hub): void;
  /** Pass to the sync service: it reports each commit's duration. */
  syncObserver: { commit(seconds: number): void };
  /** Attach the sync service's counters. */
  bindSync(stats: () => SyncStats): void;
  /** Attach the session gateway's counters. */
  bindGateway(stats: () => GatewayStats): void;
  /** Prometheus text exposition. */
  render(): Promise<{ contentType: string; body: string }>;
}

/**
 * Create the metrics registry.
 *
 * @example
 * ```ts
 * import { createMetrics } from "./metrics.ts";
 * const metrics = createMetrics();
 * const { body } = await metrics.render();
 * ```
 */
export function createMetrics(): Metrics {
  const sources: Sources = {
    hub: undefined,
    sync: undefined,
    gateway: undefined,
    fallbacks: new Map(),
    commits: new BucketHistogram({
      name: "switchyard_sync_commit_duration_seconds",
      help: "Time to commit a batch of document updates to SQLite",
      labelName: "store",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    }),
    latency: new BucketHistogram({
      name: "switchyard_request_duration_seconds",
      help: "Time to handle a client request, by frame type",
      labelName: "type",
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    }),
  };
  let registry: Promise<Registry> | undefined;
  return {
    observer: {
      request: (type, seconds) => sources.latency.observe(type, seconds),
      connected: (transport, count) => {
        if (count > 0) {
          sources.fallbacks.set(transport, (sources.fallbacks.get(transport) ?? 0) + count);
        }
      },
    },
    bind(h) {
      sources.hub = h;
    },
    syncObserver: { commit: (seconds) => sources.commits.observe("sqlite", seconds) },
    bindSync(stats) {
      sources.sync = stats;
    },
    bindGateway(stats) {
      sources.gateway = stats;
    },
    async render() {
      registry ??= loadRegistry(sources).catch((e) => {
        registry = undefined;
        throw e;
      });
      const r = await registry;
      return { contentType: r.contentType, body: await r.metrics() };
    },
  };
}

/** Import prom-client and register every metric, reading `sources` at scrape time. */
async function loadRegistry(sources: Sources): Promise<Registry> {
  const { default: client } = await import("prom-client");
  const registry = new client.Registry();
  const perTransport = (
    name: string,
    help: string,
    read: (h: Hub) => Record<string, number>,
    type: "counter" | "gauge",
    extra: Record<string, string> = {},
  ) => {
    const Metric = type === "counter" ? client.Counter : client.Gauge;
    const labelNames = ["transport", ...Object.keys(extra)];
    new Metric({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        if (!sources.hub) return;
        this.reset();
        for (const [t, v] of Object.entries(read(sources.hub))) {
          // deno-lint-ignore no-explicit-any
          (this as any)[type === "counter" ? "inc" : "set"]({ transport: t, ...extra }, v);
        }
      },
    });
  };
  perTransport(
    "switchyard_connections",
    "Open transport connections",
    (h) => h.stats.connectionsOpen,
    "gauge",
  );
  perTransport(
    "switchyard_connections_opened_total",
    "Transport connections accepted",
    (h) => h.stats.connectionsOpened,
    "counter",
  );
  perTransport(
    "switchyard_attached_sessions",
    "Sessions attached to a transport",
    (h) => h.sessionsByTransport(),
    "gauge",
  );
  for (
    const [dir, msgs, bytes] of [
      ["in", "messagesIn", "bytesIn"],
      ["out", "messagesOut", "bytesOut"],
    ] as const
  ) {
    new client.Counter({
      name: `switchyard_messages_${dir}_total`,
      help: `Frames ${dir === "in" ? "received from" : "sent to"} clients`,
      labelNames: ["transport"],
      registers: [registry],
      collect() {
        if (!sources.hub) return;
        this.reset();
        for (const t of TRANSPORT_KINDS) this.inc({ transport: t }, sources.hub.stats[msgs][t]);
      },
    });
    new client.Counter({
      name: `switchyard_bytes_${dir}_total`,
      help: `Bytes of frames ${dir === "in" ? "received from" : "sent to"} clients`,
      labelNames: ["transport"],
      registers: [registry],
      collect() {
        if (!sources.hub) return;
        this.reset();
        for (const t of TRANSPORT_KINDS) this.inc({ transport: t }, sources.hub.stats[bytes][t]);
      },
    });
  }
  new client.Gauge({
    name: "switchyard_sessions",
    help: "Sessions, attached or within their grace period",
    registers: [registry],
    collect() {
      if (sources.hub) this.set(sources.hub.sessionCount);
    },
  });
  new client.Gauge({
    name: "switchyard_subscriptions",
    help: "Channel subscriptions over all sessions",
    registers: [registry],
    collect() {
      if (sources.hub) this.set(sources.hub.subscriptionCount);
    },
  });
  new client.Counter({
    name: "switchyard_sessions_resumed_total",
    help: "Sessions resumed after a drop or a transport switch",
    registers: [registry],
    collect() {
      if (!sources.hub) return;
      this.reset();
      this.inc(sources.hub.stats.sessionsResumed);
    },
  });
  new client.Counter({
    name: "switchyard_transport_switches_total",
    help: "Sessions that moved to another transport kind",
    registers: [registry],
    collect() {
      if (!sources.hub) return;
      this.reset();
      this.inc(sources.hub.stats.transportSwitches);
    },
  });
  new client.Counter({
    name: "switchyard_errors_total",
    help: "Errors by protocol error code",
    labelNames: ["code"],
    registers: [registry],
    collect() {
      if (!sources.hub) return;
      this.reset();
      for (const [code, n] of Object.entries(sources.hub.stats.errors)) this.inc({ code }, n ?? 0);
    },
  });
  new client.Counter({
    name: "switchyard_fallbacks_total",
    help: "Transports that failed on clients before the one they connected with",
    labelNames: ["transport"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [transport, n] of sources.fallbacks) this.inc({ transport }, n);
    },
  });
  // prom-client's types admit only its own metric classes; the registry only
  // reads `name` and `type` and calls `get()` and `reset()`.
  registry.registerMetric(sources.latency as unknown as Metric);
  /**
   * A metric read at scrape time from a service bound later (`read` gives undefined until
   * then): one number, or one number per value of `label`.
   */
  const scraped = (
    name: string,
    help: string,
    type: "counter" | "gauge",
    read: () => number | Record<string, number> | undefined,
    label?: string,
  ) => {
    const Metric = type === "counter" ? client.Counter : client.Gauge;
    new Metric({
      name,
      help,
      labelNames: label ? [label] : [],
      registers: [registry],
      collect() {
        const value = read();
        if (value === undefined) return;
        this.reset();
        // deno-lint-ignore no-explicit-any
        const metric = this as any;
        const op = type === "counter" ? "inc" : "set";
        if (typeof value === "number") metric[op](value);
        else for (const [key, n] of Object.entries(value)) metric[op]({ [label!]: key }, n);
      },
    });
  };
  const syncMetrics: [string, string, "counter" | "gauge", (s: SyncStats) => number][] = [
    ["switchyard_sync_docs_loaded", "Documents in memory", "gauge", (s) => s.docsLoaded],
    [
      "switchyard_sync_updates_total",
      "Document updates applied and stored",
      "counter",
      (s) => s.updatesApplied,
    ],
    ["switchyard_sync_commits_total", "SQLite commits of updates", "counter", (s) => s.commits],
    [
      "switchyard_sync_compactions_total",
      "Update logs merged into a snapshot",
      "counter",
      (s) => s.compactions,
    ],
  ];
  for (const [name, help, type, read] of syncMetrics) {
    scraped(name, help, type, () => sources.sync && read(sources.sync()));
  }
  registry.registerMetric(sources.commits as unknown as Metric);
  scraped(
    "switchyard_gateway_sessions",
    "Gateway sessions by state",
    "gauge",
    () => sources.gateway?.().sessions,
    "state",
  );
  const gatewayMetrics: [string, string, "counter" | "gauge", (s: GatewayStats) => number][] = [
    [
      "switchyard_gateway_process_starts_total",
      "Dev-server processes started (first starts and restarts)",
      "counter",
      (s) => s.processStarts,
    ],
    [
      "switchyard_gateway_crashes_total",
      "Dev-server processes that exited on their own",
      "counter",
      (s) => s.crashes,
    ],
    [
      "switchyard_gateway_proxied_total",
      "Requests and WebSocket upgrades proxied to sessions",
      "counter",
      (s) => s.proxied,
    ],
    ["switchyard_gateway_websockets", "Proxied WebSockets open", "gauge", (s) => s.websockets],
  ];
  for (const [name, help, type, read] of gatewayMetrics) {
    scraped(name, help, type, () => sources.gateway && read(sources.gateway()));
  }
  client.collectDefaultMetrics({ register: registry, prefix: "switchyard_process_" });
  return registry;
}
