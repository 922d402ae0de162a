/**
 * A histogram with one label, kept as plain numbers so observing never calls
 * into prom-client. It can still be registered in a prom-client registry: its
 * `get()` returns what prom-client 15's own `Histogram.get()` returns —
 * cumulative `_bucket` samples with an `le` label and a final `le="+Inf"`,
 * then `_sum` and `_count`, per label value in first-observed order.
 *
 * @module
 */

/** Options of {@linkcode BucketHistogram}. */
export interface BucketHistogramOptions {
  name: string;
  help: string;
  /** The one label the observations are split by. */
  labelName: string;
  /** Upper bounds, ascending; `+Inf` is implied. */
  buckets: readonly number[];
}

/** One exposition line, in the shape prom-client's registry reads from `get()`. */
export interface HistogramSample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/** What `get()` returns: prom-client's metric object for a histogram. */
export interface HistogramSnapshot {
  name: string;
  help: string;
  type: "histogram";
  aggregator: "sum";
  values: HistogramSample[];
}

interface Series {
  /** Per bucket, not cumulative; an observation above the last bound is only in `count`. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * Pre-aggregated histogram. prom-client's registry only reads `name` and
 * `type` and calls `get()` and `reset()`, so an instance can be passed to
 * `registry.registerMetric()`.
 *
 * @example
 * ```ts
 * import { BucketHistogram } from "./_bucket_histogram.ts";
 * const h = new BucketHistogram({
 *   name: "request_seconds",
 *   help: "Request time",
 *   labelName: "type",
 *   buckets: [0.01, 0.1],
 * });
 * h.observe("publish", 0.05);
 * const { values } = await h.get(); // le=0.01: 0, le=0.1: 1, le=+Inf: 1, sum 0.05, count 1
 * ```
 */
export class BucketHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = "histogram";
  readonly aggregator = "sum";
  #labelName: string;
  #bounds: readonly number[];
  #series = new Map<string, Series>();

  constructor(options: BucketHistogramOptions) {
    this.name = options.name;
    this.help = options.help;
    this.#labelName = options.labelName;
    this.#bounds = [...options.buckets];
  }

  /** Count `value` under `label`. A value that is not finite is ignored. */
  observe(label: string, value: number): void {
    if (!Number.isFinite(value)) return;
    let s = this.#series.get(label);
    if (!s) {
      s = { counts: new Array(this.#bounds.length).fill(0), sum: 0, count: 0 };
      this.#series.set(label, s);
    }
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]) {
        s.counts[i]++;
        break;
      }
    }
    s.sum += value;
    s.count++;
  }

  /** The samples to expose, in prom-client's format. */
  get(): Promise<HistogramSnapshot> {
    const values: HistogramSample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const [label, s] of this.#series) {
      let cumulative = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += s.counts[i];
        values.push({
          metricName: bucket,
          labels: { le: this.#bounds[i], [this.#labelName]: label },
          value: cumulative,
        });
      }
      values.push(
        { metricName: bucket, labels: { le: "+Inf", [this.#labelName]: label }, value: s.count },
        { metricName: `${this.name}_sum`, labels: { [this.#labelName]: label }, value: s.sum },
        { metricName: `${this.name}_count`, labels: { [this.#labelName]: label }, value: s.count },
      );
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  /** Forget every observation (`registry.resetMetrics()` calls this). */
  reset(): void {
    this.#series.clear();
  }
}
