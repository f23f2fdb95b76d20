import { build as buildHistogram, type Histogram } from 'hdr-histogram-js';

/** Percentiles of a latency histogram recorded in µs. */
export interface LatencySummaryUs {
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
}

/** An HdrHistogram for latencies in µs: 1 µs … 60 s, 3 significant digits. Call `destroy()` after. */
export function latencyHistogramUs(): Histogram {
  return buildHistogram({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

/** Records one duration given as a `process.hrtime.bigint()` start; values below 1 µs count as 1. */
export function recordSinceUs(histogram: Histogram, startNs: bigint): void {
  histogram.recordValue(Math.max(1, Math.round(Number(process.hrtime.bigint() - startNs) / 1000)));
}

export function summariseUs(histogram: Histogram): LatencySummaryUs {
  return {
    p50Us: histogram.getValueAtPercentile(50),
    p90Us: histogram.getValueAtPercentile(90),
    p99Us: histogram.getValueAtPercentile(99),
    maxUs: histogram.maxValue,
    meanUs: Number(histogram.mean.toFixed(1)),
  };
}
