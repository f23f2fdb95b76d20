/**
 * Per-stage wall times of the live core's responses (`meta.timings_ms`, core/pipeline/recommend.ts),
 * kept in HdrHistograms (µs): bounded memory at any rate, percentiles from histograms.
 */
import type { Histogram } from 'hdr-histogram-js';
import { latencyHistogram } from '../../reports/latency.ts';

/** The pipeline stages the core times (recommend.ts `lap`), plus `total`. */
export const STAGES = ['user', 'retrieval', 'merge', 'enrichment', 'ranking', 'reranking', 'total'] as const;
export type Stage = (typeof STAGES)[number];

/** Quantiles written for an empirical distribution: 0, 1, …, 100 % (101 points). */
export const QUANTILE_POINTS = 101;
/** Steps of the quantile function integrated for the mean of the top 1%. */
const TAIL_STEPS = 100;

export class StageSamples {
  readonly #h = new Map<Stage, Histogram>(STAGES.map((s) => [s, latencyHistogram()]));
  /** Responses recorded (with a `total` timing). */
  responses = 0;

  /** Records one response's `timings_ms` (ms, 3 decimals); non-numeric entries are ignored. */
  record(timingsMs: Record<string, unknown> | undefined): void {
    if (!timingsMs || typeof timingsMs.total !== 'number') return;
    this.responses++;
    for (const s of STAGES) {
      const ms = timingsMs[s];
      if (typeof ms === 'number' && Number.isFinite(ms) && ms >= 0)
        this.#h.get(s)!.recordValue(Math.max(1, Math.round(ms * 1000)));
    }
  }

  /** Samples of `stage` (a stage a response did not reach, e.g. after a fallback, has fewer). */
  count(stage: Stage): number {
    return this.#h.get(stage)!.totalCount;
  }

  /** The `p`-th percentile of `stage`, µs (0 when empty). */
  percentileUs(stage: Stage, p: number): number {
    const h = this.#h.get(stage)!;
    return h.totalCount ? h.getValueAtPercentile(p) : 0;
  }

  meanUs(stage: Stage): number {
    const h = this.#h.get(stage)!;
    return h.totalCount ? h.mean : 0;
  }

  /**
   * Mean of `stage`'s samples above its p99, µs, integrated over the histogram's quantile function
   * (100 steps between p99 and p100); 0 when empty.
   */
  tailMeanUs(stage: Stage): number {
    let sum = 0;
    for (let k = 1; k <= TAIL_STEPS; k++) sum += this.percentileUs(stage, 99 + k / TAIL_STEPS);
    return sum / TAIL_STEPS;
  }

  /**
   * `QUANTILE_POINTS` quantiles of `stage` (µs, non-decreasing). The top one is set so that the
   * last segment keeps the measured mean of the top 1%: an `empirical` distribution draws that 1%
   * evenly between its p99 and its top point, so a top at the largest sample made one outlier (a GC
   * pause, a stall) the edge of every 100th draw. The simulated p99 of the calibrated fleet came
   * from those segments (docs/simulator.md). Top = 2 × tail mean − p99, within [p99, p99.9].
   */
  quantilesUs(stage: Stage): number[] {
    const out: number[] = [];
    for (let i = 0; i < QUANTILE_POINTS - 1; i++)
      out.push(this.percentileUs(stage, (100 * i) / (QUANTILE_POINTS - 1)));
    const p99 = out[out.length - 1];
    const meanKeeping = 2 * this.tailMeanUs(stage) - p99;
    out.push(Math.min(this.percentileUs(stage, 99.9), Math.max(p99, meanKeeping)));
    for (let i = 1; i < out.length; i++) out[i] = Math.max(out[i], out[i - 1]);
    return out;
  }
}
