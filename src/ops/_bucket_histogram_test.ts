import assert from "node:assert/strict";
import client from "prom-client";
import { BucketHistogram } from "./_bucket_histogram.ts";

const OPTIONS = {
  name: "request_seconds",
  help: "Request time",
  buckets: [0.001, 0.01, 0.1, 1],
};

/** Label values and observations, including bounds, negatives and values past the last bound. */
const OBSERVATIONS: [string, number][] = [
  ["publish", 0.001],
  ["publish", 0.0005],
  ["subscribe", 5],
  ["publish", 0.3],
  ["rpc", -0.5],
  ['a "quoted"\\label', 0.02],
  ["subscribe", 1],
  ["publish", 0.01],
];

Deno.test("BucketHistogram exports exactly what prom-client's Histogram does", async () => {
  const theirs = new client.Registry();
  const reference = new client.Histogram({ ...OPTIONS, labelNames: ["type"], registers: [theirs] });
  const ours = new client.Registry();
  const histogram = new BucketHistogram({ ...OPTIONS, labelName: "type" });
  ours.registerMetric(histogram as unknown as client.Metric);

  assert.equal(await ours.metrics(), await theirs.metrics());
  for (const [type, value] of OBSERVATIONS) {
    reference.observe({ type }, value);
    histogram.observe(type, value);
  }
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  assert.match(text, /^request_seconds_bucket\{le="\+Inf",type="subscribe"\} 2$/m);
  const json = JSON.stringify(
    await theirs.getMetricsAsJSON(),
    (k, v) => k === "exemplar" ? undefined : v,
  );
  assert.deepEqual(await ours.getMetricsAsJSON(), JSON.parse(json));
});

Deno.test("BucketHistogram.observe() ignores values that are not finite", async () => {
  const histogram = new BucketHistogram({ ...OPTIONS, labelName: "type" });
  histogram.observe("publish", NaN);
  histogram.observe("publish", Infinity);
  histogram.observe("publish", 0.5);
  const { values } = await histogram.get();
  assert.deepEqual(values.filter((v) => v.metricName !== "request_seconds_bucket"), [
    { metricName: "request_seconds_sum", labels: { type: "publish" }, value: 0.5 },
    { metricName: "request_seconds_count", labels: { type: "publish" }, value: 1 },
  ]);
});

Deno.test("BucketHistogram.reset() forgets every series", async () => {
  const registry = new client.Registry();
  const histogram = new BucketHistogram({ ...OPTIONS, labelName: "type" });
  registry.registerMetric(histogram as unknown as client.Metric);
  histogram.observe("publish", 0.5);
  registry.resetMetrics();
  assert.deepEqual((await histogram.get()).values, []);
  assert.equal(
    await registry.metrics(),
    "# HELP request_seconds Request time\n# TYPE request_seconds histogram\n",
  );
});
