// Order statistics for benchmark samples. Percentiles interpolate linearly between the two
// nearest ranks (the same definition as numpy's default), so p50 of an even sample is the mean
// of the middle two. Nothing here knows about milliseconds: callers pass one unit throughout.

/** BENCH_FILTER: a comma-separated list of substrings; a name matches when it contains any. */
export function matchesFilter(name: string, filter: string | undefined): boolean {
  return !filter || filter.split(',').some((f) => f !== '' && name.includes(f));
}

export interface Summary {
  n: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p99: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.length ? mean : Number.NaN,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
  };
}

export const median = (samples: readonly number[]): number => percentile([...samples].sort((a, b) => a - b), 50);

export interface PairedRatio {
  /** median(candidate) / median(baseline). */
  ofMedians: number;
  /** Per-round ratios candidate[i] / baseline[i] (samples taken next to each other). */
  pairedMedian: number;
  pairedMin: number;
  pairedMax: number;
  /** median(candidate) - median(baseline), in the samples' unit. */
  deltaOfMedians: number;
}

/**
 * Compare two interleaved sample series. Round i of the candidate ran right next to round i of
 * the baseline, so the per-round ratio cancels slow drifts in machine load; both views are kept.
 */
export function pairedRatio(candidate: readonly number[], baseline: readonly number[]): PairedRatio {
  const n = Math.min(candidate.length, baseline.length);
  const ratios = Array.from({ length: n }, (_, i) => candidate[i]! / baseline[i]!).sort((a, b) => a - b);
  return {
    ofMedians: median(candidate) / median(baseline),
    pairedMedian: percentile(ratios, 50),
    pairedMin: ratios[0] ?? Number.NaN,
    pairedMax: ratios[ratios.length - 1] ?? Number.NaN,
    deltaOfMedians: median(candidate) - median(baseline),
  };
}

/** A compact, human-friendly millisecond figure: 0.0123 ms -> "12.3 µs", 1234 -> "1234 ms". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 0) return `−${formatMs(-ms)}`;
  if (ms < 0.001) return `${(ms * 1e6).toFixed(0)} ns`;
  if (ms < 1) return `${(ms * 1000).toPrecision(3)} µs`;
  if (ms < 100) return `${ms.toPrecision(3)} ms`;
  return `${ms.toFixed(0)} ms`;
}

export function formatRatio(r: number): string {
  return Number.isFinite(r) ? `${r.toFixed(2)}x` : 'n/a';
}
