/**
 * The latency histogram every run uses, live and simulated (Measurement rules: percentiles from an
 * HdrHistogram, never from averages), and its summary in ms.
 */
import { build, type Histogram } from 'hdr-histogram-js';

/** An HdrHistogram of latencies in µs: from 1 µs, 3 significant digits, resizing past 60 s. */
export function latencyHistogram(): Histogram {
  // auto-resize keeps multi-minute stalls recordable; 3 significant digits is the HdrHistogram
  // default (0.1 % value error).
  return build({
    bitBucketSize: 32,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000, // 60 s in µs
    numberOfSignificantValueDigits: 3,
  });
}

const usToMs = (us: number): number => Math.round(us) / 1000;

/** Latency summary in ms from an HdrHistogram recorded in µs. All zero when `count` is 0. */
export interface LatencySummaryMs {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
}

/** Count, mean and percentiles (ms) of a µs histogram; all zero when it is empty. */
export function summarizeLatencyMs(h: Histogram): LatencySummaryMs {
  if (h.totalCount === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: h.totalCount,
    mean: usToMs(h.mean),
    p50: usToMs(h.getValueAtPercentile(50)),
    p90: usToMs(h.getValueAtPercentile(90)),
    p95: usToMs(h.getValueAtPercentile(95)),
    p99: usToMs(h.getValueAtPercentile(99)),
    p999: usToMs(h.getValueAtPercentile(99.9)),
    max: usToMs(h.maxValue),
  };
}
