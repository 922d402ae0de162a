/**
 * Prometheus metrics for `GET /metrics`, read from the hub's counters at
 * scrape time so the fan-out path only increments plain numbers.
 *
 * @module
 */

import client from "prom-client";
import type { Hub, HubObserver } from "../core/hub.ts";
import { TRANSPORT_KINDS } from "../core/connection.ts";

/** A metrics registry bound to one hub. */
export interface Metrics {
  /** Pass to the hub as its observer (latency histograms). */
  observer: HubObserver;
  /** Attach the hub whose counters are exported. */
  bind(hub: Hub): void;
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
  const registry = new client.Registry();
  let hub: Hub | undefined;
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
        if (!hub) return;
        this.reset();
        for (const [t, v] of Object.entries(read(hub))) {
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
        if (!hub) return;
        this.reset();
        for (const t of TRANSPORT_KINDS) this.inc({ transport: t }, hub.stats[msgs][t]);
      },
    });
    new client.Counter({
      name: `switchyard_bytes_${dir}_total`,
      help: `Bytes of frames ${dir === "in" ? "received from" : "sent to"} clients`,
      labelNames: ["transport"],
      registers: [registry],
      collect() {
        if (!hub) return;
        this.reset();
        for (const t of TRANSPORT_KINDS) this.inc({ transport: t }, hub.stats[bytes][t]);
      },
    });
  }
  new client.Gauge({
    name: "switchyard_sessions",
    help: "Sessions, attached or within their grace period",
    registers: [registry],
    collect() {
      if (hub) this.set(hub.sessionCount);
    },
  });
  new client.Gauge({
    name: "switchyard_subscriptions",
    help: "Channel subscriptions over all sessions",
    registers: [registry],
    collect() {
      if (hub) this.set(hub.subscriptionCount);
    },
  });
  new client.Counter({
    name: "switchyard_sessions_resumed_total",
    help: "Sessions resumed after a drop or a transport switch",
    registers: [registry],
    collect() {
      if (!hub) return;
      this.reset();
      this.inc(hub.stats.sessionsResumed);
    },
  });
  new client.Counter({
    name: "switchyard_transport_switches_total",
    help: "Sessions that moved to another transport kind",
    registers: [registry],
    collect() {
      if (!hub) return;
      this.reset();
      this.inc(hub.stats.transportSwitches);
    },
  });
  new client.Counter({
    name: "switchyard_errors_total",
    help: "Errors by protocol error code",
    labelNames: ["code"],
    registers: [registry],
    collect() {
      if (!hub) return;
      this.reset();
      for (const [code, n] of Object.entries(hub.stats.errors)) this.inc({ code }, n ?? 0);
    },
  });
  const fallbacks = new client.Counter({
    name: "switchyard_fallbacks_total",
    help: "Transports that failed on clients before the one they connected with",
    labelNames: ["transport"],
    registers: [registry],
  });
  const latency = new client.Histogram({
    name: "switchyard_request_duration_seconds",
    help: "Time to handle a client request, by frame type",
    labelNames: ["type"],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  client.collectDefaultMetrics({ register: registry, prefix: "switchyard_process_" });
  return {
    observer: {
      request: (type, seconds) => latency.observe({ type }, seconds),
      connected: (transport, count) => {
        if (count > 0) fallbacks.inc({ transport }, count);
      },
    },
    bind(h) {
      hub = h;
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
