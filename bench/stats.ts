/** Small statistics helpers for the benchmark report. */

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new Error('no values');
  return [...values].sort((a, b) => a - b);
}

/** Linear-interpolated percentile, p in [0, 100]. */
export function percentile(values: readonly number[], p: number): number {
  const xs = sorted(values);
  const rank = (Math.min(100, Math.max(0, p)) / 100) * (xs.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const a = xs[low]!;
  const b = xs[high]!;
  return a + (b - a) * (rank - low);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function minMax(values: readonly number[]): { min: number; max: number } {
  const xs = sorted(values);
  return { min: xs[0]!, max: xs[xs.length - 1]! };
}

export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

export function latencySummary(ms: readonly number[]): LatencySummary {
  return {
    p50: percentile(ms, 50),
    p95: percentile(ms, 95),
    p99: percentile(ms, 99),
    max: minMax(ms).max,
  };
}

/** A figure rounded for display: 3 significant digits below 100, integers above. */
export function fmt(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

export function fmtRatio(value: number): string {
  return value.toFixed(2);
}
