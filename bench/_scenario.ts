/**
 * One scenario on one server: start it, connect N idle subscribers, read its
 * memory, broadcast, stop everything that was started.
 *
 * @module
 */

import {
  type Child,
  freePort,
  medianRssKb,
  nextEvent,
  rssKb,
  sleep,
  spawn,
  waitForPort,
} from "./_processes.ts";
import { LOAD_SCRIPT, type ServerSpec } from "./_servers.ts";
import { machineTicks, processCpuSeconds } from "./_machine.ts";

/** How a scenario loads the server. */
export interface Plan {
  subscribers: number;
  /** Subscribers connecting at once. */
  batch: number;
  /** Fixed-pace phase: one publish every `intervalMs`; its latencies are the headline. */
  paced: { messages: number; intervalMs: number };
  /** Closed-loop phase: the next publish goes when the previous one is acknowledged. */
  burst: { messages: number };
  /** Wait after the last subscriber before reading idle memory. */
  settleMs: number;
  /** Deadline of one phase of the load generator. */
  timeoutMs: number;
}

/** Deliveries of one phase, as reported by bench/peers/load.mjs. */
export interface PhaseResult {
  expected: number;
  delivered: number;
  acked: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveriesPerSec: number;
}

/** Everything measured in one scenario on one server. */
export interface ScenarioResult {
  server: string;
  subscribers: number;
  rssBeforeKb: number;
  rssIdleKb: number;
  /** (idle − before) / subscribers. */
  rssPerConnectionKb: number;
  rssAfterKb: number;
  connectMs: number;
  /** Server CPU time per delivery over the broadcast phases (µs). */
  serverCpuPerDeliveryUs: number;
  /** Cores other processes kept busy during the broadcast phases: above ~0.2 the figures are skewed. */
  backgroundCores: number;
  paced: PhaseResult;
  burst?: PhaseResult;
  unexpectedCloses: number;
}

interface LoadEvent {
  event: "subscribed" | "result" | "error";
  ms?: number;
  message?: string;
  paced?: PhaseResult;
  burst?: PhaseResult;
  unexpectedCloses?: number;
}

/** Run `plan` against a fresh `spec` server; every process started here is stopped by PID. */
export async function runScenario(
  spec: ServerSpec,
  plan: Plan,
  cwd: string,
): Promise<ScenarioResult> {
  const port = freePort();
  const { command, args, env } = spec.command(port);
  const server = spawn(command, { args, env, cwd });
  let load: Child | undefined;
  try {
    await waitForPort(port, server);
    await sleep(1_000);
    const rssBeforeKb = await medianRssKb(server.pid, 3, 300);
    load = spawn("node", {
      args: [LOAD_SCRIPT, JSON.stringify(loadOptions(spec, plan, port))],
      stdin: true,
      stdout: true,
    });
    const subscribed = await nextEvent<LoadEvent>(load, "subscribed", plan.timeoutMs * 5);
    await sleep(plan.settleMs);
    const rssIdleKb = await medianRssKb(server.pid);
    const before = { machine: machineTicks(), at: Date.now(), ...cpuOf(server, load) };
    await load.writeLine("go");
    const phasesMs = plan.paced.messages * plan.paced.intervalMs + 4 * plan.timeoutMs + 10_000;
    const result = await nextEvent<LoadEvent>(load, "result", phasesMs);
    const after = { machine: machineTicks(), at: Date.now(), ...cpuOf(server, load) };
    const serverCpu = after.server - before.server;
    const ours = serverCpu + after.load - before.load;
    const machineBusy = (after.machine.busy - before.machine.busy) / 100;
    const deliveries = result.paced!.delivered + (result.burst?.delivered ?? 0);
    return {
      server: spec.key,
      subscribers: plan.subscribers,
      rssBeforeKb,
      rssIdleKb,
      rssPerConnectionKb: (rssIdleKb - rssBeforeKb) / plan.subscribers,
      rssAfterKb: rssKb(server.pid),
      connectMs: subscribed.ms!,
      serverCpuPerDeliveryUs: (serverCpu * 1e6) / Math.max(1, deliveries),
      backgroundCores: Math.max(0, (machineBusy - ours) / ((after.at - before.at) / 1000)),
      paced: result.paced!,
      burst: result.burst,
      unexpectedCloses: result.unexpectedCloses ?? 0,
    };
  } finally {
    await load?.stop();
    await server.stop();
  }
}

function cpuOf(server: Child, load: Child) {
  return { server: processCpuSeconds(server.pid), load: processCpuSeconds(load.pid) };
}

function loadOptions(spec: ServerSpec, plan: Plan, port: number) {
  return {
    protocol: spec.protocol,
    port,
    subscribers: plan.subscribers,
    batch: plan.batch,
    paced: plan.paced,
    burst: spec.acks ? plan.burst : null,
    timeoutMs: plan.timeoutMs,
  };
}
