/**
 * Load generator of bench/gateway_bench.ts, run as a child process: `concurrency` loops of
 * `GET url` (body read to the end) for `durationMs`, then one JSON line
 * `{"event":"result", requests, errors, seconds, p50, p99}` (latencies in ms) on stdout.
 *
 * ```sh
 * deno run -A bench/_gateway_load.ts <url> <concurrency> <durationMs> [Name=value …]
 * ```
 *
 * @module
 */

const [url, concurrencyArg, durationArg, ...headerArgs] = Deno.args;
const concurrency = Number(concurrencyArg);
const durationMs = Number(durationArg);
const headers: [string, string][] = headerArgs.map((h) => {
  const eq = h.indexOf("=");
  return [h.slice(0, eq), h.slice(eq + 1)];
});
headers.push(["accept", "*/*"]);

const latencies: number[] = [];
let errors = 0;
let firstError = "";

async function worker(until: number): Promise<void> {
  while (performance.now() < until) {
    const t0 = performance.now();
    try {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      latencies.push(performance.now() - t0);
    } catch (error) {
      errors++;
      firstError ||= String(error);
    }
  }
}

try {
  // Warm-up: connections open and the upstream's transform cached before the clock starts.
  await Promise.all(Array.from({ length: concurrency }, () => worker(performance.now() + 300)));
  latencies.length = 0;
  errors = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, () => worker(started + durationMs)));
  const seconds = (performance.now() - started) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
  console.log(JSON.stringify({
    event: "result",
    requests: sorted.length,
    errors,
    firstError,
    seconds,
    p50: at(0.5),
    p99: at(0.99),
  }));
} catch (error) {
  console.log(JSON.stringify({ event: "error", message: String(error) }));
}
