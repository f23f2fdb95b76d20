import { encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { ErrorCode } from '../../core/errors.ts';
import type { Rung } from '../../core/resilience/fallback-ladder.ts';
import { latencyHistogram, summarizeLatencyMs } from '../../reports/latency.ts';
import type { PhaseReport } from '../../reports/model.ts';
import { SeriesRecorder } from '../../reports/series.ts';

/**
 * What one phase of a simulated run measured: a latency HdrHistogram (µs from the intended send
 * time), counts by status, rung and reason. Fixed size whatever the rate: no per-request arrays.
 */
export class PhaseRecorder {
  readonly name: string;
  readonly warmup: boolean;
  readonly offeredQps: number;
  readonly durationS: number;
  readonly startUs: number;
  readonly endUs: number;
  scheduled = 0;
  ok = 0;
  shed = 0;
  readonly #latency: Histogram = latencyHistogram();
  readonly #rungs = new Map<string, number>();
  readonly #reasons = new Map<string, number>();
  readonly #series = new SeriesRecorder(1);
  /** Virtual time 0 in epoch ms (the report's `startedAt` is this plus `startUs`). */
  readonly #epochMs: number;

  constructor(p: {
    name: string;
    warmup: boolean;
    offeredQps: number;
    durationS: number;
    startUs: number;
    /** Virtual time 0 in epoch ms. */
    epochMs: number;
  }) {
    this.#epochMs = p.epochMs;
    this.name = p.name;
    this.warmup = p.warmup;
    this.offeredQps = p.offeredQps;
    this.durationS = p.durationS;
    this.startUs = p.startUs;
    this.endUs = p.startUs + Math.round(p.durationS * 1e6);
  }

  /** One request the arrival process intends `offsetS` into the phase: counted, and offered in its second. */
  schedule(offsetS: number): void {
    this.scheduled++;
    this.#series.offer(offsetS);
  }

  /** One outcome of a request intended at `intendedUs` (virtual µs). */
  record(
    intendedUs: number,
    latencyUs: number,
    status: 200 | 503,
    rung: Rung | undefined,
    reasons: readonly { stage: string; code: ErrorCode }[],
  ): void {
    this.#latency.recordValue(latencyUs < 1 ? 1 : Math.round(latencyUs));
    this.#series.record((intendedUs - this.startUs) / 1e6, status, latencyUs, rung);
    if (status === 503) {
      this.shed++;
      return;
    }
    this.ok++;
    if (rung) this.#rungs.set(rung, (this.#rungs.get(rung) ?? 0) + 1);
    for (const r of reasons) {
      const key = `${r.stage} ${r.code}`;
      this.#reasons.set(key, (this.#reasons.get(key) ?? 0) + 1);
    }
  }

  /** The phase as the RunResult reports it (maps sorted by key: byte-stable JSON). */
  report(): PhaseReport {
    const completed = this.ok + this.shed;
    const sorted = (m: Map<string, number>) =>
      Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    return {
      name: this.name,
      warmup: this.warmup || undefined,
      offeredQps: this.offeredQps,
      achievedQps: Math.round((completed / this.durationS) * 10) / 10,
      durationS: this.durationS,
      latencyMs: summarizeLatencyMs(this.#latency),
      statusCounts: {
        '2xx': this.ok,
        '4xx': 0,
        '5xx': this.shed,
        errors: 0,
        timeouts: this.scheduled - completed,
        shed: this.shed,
      },
      startedAt: new Date(this.#epochMs + this.startUs / 1000).toISOString(),
      late: 0,
      dropped: 0,
      rungCounts: sorted(this.#rungs),
      reasonCounts: sorted(this.#reasons),
      histogramBase64: this.#latency.totalCount > 0 ? encodeIntoCompressedBase64(this.#latency) : undefined,
      series: this.#series.series(),
    };
  }
}
