/**
 * The numbers every benchmark report shares: nearest-rank percentiles and how figures and
 * ratios are printed.
 *
 * @module
 */

/** Latency figures of one series (ms). */
export interface Stats {
  n: number;
  missed: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles of `samples`; `missed` counts samples that never came. */
export function stats(samples: readonly number[], missed = 0): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s.length ? s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] : NaN;
  return { n: s.length, missed, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: s.at(-1) ?? NaN };
}

/** A figure with the precision it deserves: `1,234`, `123`, `12.3`, `1.23`; `—` for none. */
export function fmt(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return "—";
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString("en-US");
  if (Math.abs(x) >= 100) return x.toFixed(0);
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** `a / b` as `1.23×`; `—` when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  return a !== undefined && b !== undefined && Number.isFinite(a) && b > 0
    ? `${(a / b).toFixed(2)}×`
    : "—";
}
