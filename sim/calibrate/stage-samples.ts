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
   * `QUANTILE_POINTS` quantiles of `stage` (µs, non-decreasing), the top one at p99.9 rather than
   * the maximum: one GC pause would otherwise stretch the last 1% of every draw.
   */
  quantilesUs(stage: Stage): number[] {
    const out: number[] = [];
    for (let i = 0; i < QUANTILE_POINTS; i++) {
      const p = i === QUANTILE_POINTS - 1 ? 99.9 : (100 * i) / (QUANTILE_POINTS - 1);
      out.push(this.percentileUs(stage, p));
    }
    for (let i = 1; i < out.length; i++) out[i] = Math.max(out[i], out[i - 1]);
    return out;
  }
}
