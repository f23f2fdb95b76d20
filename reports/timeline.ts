/**
 * The run on one time axis, for the charts of index.html: each phase's per-second series
 * (reports/series.ts) placed at the phase's offset from the run's first phase, the fault windows
 * and the phase boundaries on the same axis, and each measured phase's latency distribution from
 * its HdrHistogram. A pure function of the RunResult: the same summary.json gives the same numbers.
 *
 * Units: `x` in seconds from the first phase's start (virtual seconds in a simulated run), rates in
 * requests/s, latencies in ms, shares in [0, 1]. `null` where a second had nothing to measure
 * (no answered request for a percentile; a field an older run did not record).
 */
import { decodeFromCompressedBase64 } from 'hdr-histogram-js';
import { RUNGS } from '../core/resilience/fallback-ladder.ts';
import type { RunResult } from './model.ts';

export interface Timeline {
  x: number[];
  p50: (number | null)[];
  p95: (number | null)[];
  p99: (number | null)[];
  offeredQps: (number | null)[];
  achievedQps: number[];
  shedQps: number[];
  errorsQps: number[];
  /** Rungs in ladder order (unknown names after, alphabetically), each second's share of 2xx. */
  rungs: { name: string; share: (number | null)[] }[];
  phases: { name: string; fromX: number; toX: number; warmup: boolean }[];
  /** Applied or failed faults' planned windows; an event (no `toS`) has `toX === fromX`. */
  faults: { label: string; fromX: number; toX: number }[];
}

/** One measured phase's latency at increasing percentiles (its whole-phase HdrHistogram). */
export interface LatencyDistribution {
  phase: string;
  percentiles: number[];
  ms: number[];
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Percentiles the distribution chart plots: the tail in "nines". */
export const DISTRIBUTION_PERCENTILES = [0, 25, 50, 75, 90, 95, 98, 99, 99.5, 99.9, 99.95, 99.99, 100];

/**
 * Seconds from the run's first phase to each phase's start: from `startedAt` when every phase has
 * one (live runs leave gaps between phases), else the durations laid end to end.
 */
export function phaseOffsetsS(r: Pick<RunResult, 'phases'>): number[] {
  const starts = r.phases.map((p) => (p.startedAt ? Date.parse(p.startedAt) : Number.NaN));
  if (r.phases.length > 0 && starts.every((t) => Number.isFinite(t))) {
    const t0 = Math.min(...starts);
    return starts.map((t) => round3((t - t0) / 1000));
  }
  let at = 0;
  return r.phases.map((p) => {
    const x = at;
    at += p.durationS;
    return round3(x);
  });
}

function rungOrder(names: Iterable<string>): string[] {
  const known = RUNGS as readonly string[];
  const all = [...new Set(names)];
  const rank = (n: string) => (known.includes(n) ? known.indexOf(n) : known.length);
  return all.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

export function timelineOf(r: RunResult): Timeline {
  const offsets = phaseOffsetsS(r);
  const rows: {
    x: number;
    b: NonNullable<RunResult['phases'][number]['series']>['buckets'][number];
    bucketS: number;
  }[] = [];
  r.phases.forEach((p, i) => {
    for (const b of p.series?.buckets ?? [])
      rows.push({ x: round3(offsets[i] + b.startS), b, bucketS: p.series!.bucketS });
  });
  rows.sort((a, b) => a.x - b.x);
  const rungNames = rungOrder(rows.flatMap((row) => Object.keys(row.b.rungCounts)));
  const answered = (row: (typeof rows)[number]) => row.b.count > 0 && row.b.count > row.b.errors;
  const pct = (row: (typeof rows)[number], v: number | undefined) =>
    v === undefined || !answered(row) ? null : v;
  const perS = (n: number, bucketS: number) => round3(n / bucketS);
  return {
    x: rows.map((row) => row.x),
    p50: rows.map((row) => pct(row, row.b.p50Ms)),
    p95: rows.map((row) => pct(row, row.b.p95Ms)),
    p99: rows.map((row) => pct(row, row.b.p99Ms)),
    offeredQps: rows.map((row) => (row.b.offered === undefined ? null : perS(row.b.offered, row.bucketS))),
    achievedQps: rows.map((row) => perS(row.b.count, row.bucketS)),
    shedQps: rows.map((row) => perS(row.b.shed, row.bucketS)),
    errorsQps: rows.map((row) => perS(row.b.errors, row.bucketS)),
    rungs: rungNames.map((name) => ({
      name,
      share: rows.map((row) => {
        const ok = Object.values(row.b.rungCounts).reduce((s, n) => s + n, 0);
        return ok === 0 ? null : round3((row.b.rungCounts[name] ?? 0) / ok);
      }),
    })),
    phases: r.phases.map((p, i) => ({
      name: p.name,
      fromX: offsets[i],
      toX: round3(offsets[i] + p.durationS),
      warmup: p.warmup === true,
    })),
    faults: (r.faults ?? []).flatMap((f) => {
      const i = r.phases.findIndex((p) => p.name === f.phase);
      if (i < 0 || f.status === 'skipped') return [];
      return [
        {
          label: `${f.target} ${f.kind}`,
          fromX: round3(offsets[i] + f.fromS),
          toX: round3(offsets[i] + (f.toS ?? f.fromS)),
        },
      ];
    }),
  };
}

/** Each measured phase's latency at DISTRIBUTION_PERCENTILES, from its stored histogram. */
export function latencyDistributions(r: RunResult): LatencyDistribution[] {
  return r.phases.flatMap((p) => {
    if (p.warmup || !p.histogramBase64) return [];
    const h = decodeFromCompressedBase64(p.histogramBase64);
    if (h.totalCount === 0) return [];
    return [
      {
        phase: p.name,
        percentiles: DISTRIBUTION_PERCENTILES,
        ms: DISTRIBUTION_PERCENTILES.map((q) => Math.round(h.getValueAtPercentile(q)) / 1000),
      },
    ];
  });
}
