/**
 * `reclab compare <base> <candidate…>`: flags the candidate's regressions against the base run,
 * with a threshold that grows with the runs' own noise (docs/compare.md has the rule and its
 * measured false-positive rate).
 *
 * Latency (p50/p95/p99 of each measured phase both runs have): the ratio candidate ÷ base of the
 * whole-phase HdrHistogram percentile is a regression when it exceeds
 *     threshold = max(tolerance, exp(Z · √(seA² + seB²)) − 1)
 * where seX is the standard error of the log-median of that percentile's per-second values in
 * run X (1.2533 · 1.4826 · MAD(log values) ÷ √n: the median's standard error from a robust σ).
 * Noisy runs (a p99 that jumps from second to second) so need a larger ratio to be flagged.
 * Rates (shed, other errors, `full` rung share) use a two-proportion z-test: flagged when z ≥ Z and
 * the difference exceeds a floor. Achieved ÷ offered rate and mean quality (expected watch time,
 * NDCG@10) use fixed tolerances: the run result has no per-second spread for them.
 */
import type { PhaseReport, RunResult } from './model.ts';

export interface CompareOptions {
  /** Smallest relative latency increase ever flagged (0.10: 10 %). */
  latencyTolerance: number;
  /** Standard errors (log-ratio) or z-score a difference must exceed. */
  z: number;
  /** Smallest increase of the shed or error share flagged (fraction of requests). */
  errorRateFloor: number;
  /** Smallest drop of the `full` rung share flagged (fraction of 2xx). */
  rungShareFloor: number;
  /** Largest relative drop of achieved ÷ offered rate and of mean quality accepted. */
  rateTolerance: number;
  qualityTolerance: number;
}

export const DEFAULT_COMPARE: CompareOptions = {
  latencyTolerance: 0.1,
  z: 3,
  errorRateFloor: 0.005,
  rungShareFloor: 0.02,
  rateTolerance: 0.05,
  qualityTolerance: 0.05,
};

export interface MetricComparison {
  phase: string;
  metric: string;
  base: number;
  candidate: number;
  /** candidate ÷ base (latency, rate, quality) or candidate − base (shares). */
  change: number;
  changeKind: 'ratio' | 'difference';
  /** The change beyond which it is a regression (ratio − 1 or difference, in the bad direction). */
  threshold: number;
  regression: boolean;
}

export interface RunComparison {
  base: string;
  candidate: string;
  metrics: MetricComparison[];
  regressions: number;
  /** Measured phases of one run that the other does not have. */
  unmatched: string[];
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Standard error of the log-median of the per-second values (0 with fewer than 3 seconds). */
export function logMedianStdError(values: number[]): number {
  const logs = values.filter((v) => v > 0).map(Math.log);
  if (logs.length < 3) return 0;
  const med = median(logs);
  const mad = median(logs.map((v) => Math.abs(v - med)));
  return (1.2533 * 1.4826 * mad) / Math.sqrt(logs.length);
}

type Pct = 'p50' | 'p95' | 'p99';
const SERIES_FIELD: Record<Pct, 'p50Ms' | 'p95Ms' | 'p99Ms'> = { p50: 'p50Ms', p95: 'p95Ms', p99: 'p99Ms' };

function perSecond(p: PhaseReport, pct: Pct): number[] {
  return (p.series?.buckets ?? []).flatMap((b) => {
    const v = b[SERIES_FIELD[pct]];
    return b.count > b.errors && v !== undefined && v > 0 ? [v] : [];
  });
}

/** z of a two-proportion test (candidate share − base share) ÷ pooled standard error; 0 when undefined. */
export function twoProportionZ(xA: number, nA: number, xB: number, nB: number): number {
  if (nA === 0 || nB === 0) return 0;
  const pooled = (xA + xB) / (nA + nB);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / nA + 1 / nB));
  const diff = xB / nB - xA / nA;
  return se === 0 ? (diff === 0 ? 0 : Math.sign(diff) * Number.POSITIVE_INFINITY) : diff / se;
}

const total = (p: PhaseReport) => {
  const s = p.statusCounts;
  return s['2xx'] + (s['3xx'] ?? 0) + s['4xx'] + s['5xx'] + s.errors + s.timeouts;
};

function comparePhase(a: PhaseReport, b: PhaseReport, o: CompareOptions): MetricComparison[] {
  const out: MetricComparison[] = [];
  for (const pct of ['p50', 'p95', 'p99'] as const) {
    const base = a.latencyMs[pct];
    const cand = b.latencyMs[pct];
    if (base <= 0 || a.latencyMs.count === 0 || b.latencyMs.count === 0) continue;
    const se = Math.hypot(logMedianStdError(perSecond(a, pct)), logMedianStdError(perSecond(b, pct)));
    const threshold = Math.max(o.latencyTolerance, Math.exp(o.z * se) - 1);
    const ratio = cand / base;
    out.push({
      phase: a.name,
      metric: `latency ${pct} ms`,
      base,
      candidate: cand,
      change: round4(ratio),
      changeKind: 'ratio',
      threshold: round4(threshold),
      regression: ratio - 1 > threshold,
    });
  }
  const rateA = a.achievedQps / a.offeredQps;
  const rateB = b.achievedQps / b.offeredQps;
  out.push({
    phase: a.name,
    metric: 'achieved ÷ offered rate',
    base: round4(rateA),
    candidate: round4(rateB),
    change: round4(rateB / rateA),
    changeKind: 'ratio',
    threshold: o.rateTolerance,
    regression: rateB / rateA < 1 - o.rateTolerance,
  });
  const nA = total(a);
  const nB = total(b);
  const shares: [string, number, number, number, number, number][] = [
    ['shed share', a.statusCounts.shed ?? 0, nA, b.statusCounts.shed ?? 0, nB, o.errorRateFloor],
    [
      'error share (non-2xx except shed, transport)',
      nA - a.statusCounts['2xx'] - (a.statusCounts.shed ?? 0),
      nA,
      nB - b.statusCounts['2xx'] - (b.statusCounts.shed ?? 0),
      nB,
      o.errorRateFloor,
    ],
  ];
  for (const [metric, xA, nnA, xB, nnB, floor] of shares) {
    const sA = nnA ? xA / nnA : 0;
    const sB = nnB ? xB / nnB : 0;
    out.push({
      phase: a.name,
      metric,
      base: round4(sA),
      candidate: round4(sB),
      change: round4(sB - sA),
      changeKind: 'difference',
      threshold: floor,
      regression: sB - sA > floor && twoProportionZ(xA, nnA, xB, nnB) >= o.z,
    });
  }
  const okA = Object.values(a.rungCounts).reduce((s, n) => s + n, 0);
  const okB = Object.values(b.rungCounts).reduce((s, n) => s + n, 0);
  if (okA > 0 && okB > 0) {
    const fA = a.rungCounts.full ?? 0;
    const fB = b.rungCounts.full ?? 0;
    const d = fB / okB - fA / okA;
    out.push({
      phase: a.name,
      metric: 'full rung share',
      base: round4(fA / okA),
      candidate: round4(fB / okB),
      change: round4(d),
      changeKind: 'difference',
      threshold: -o.rungShareFloor,
      regression: -d > o.rungShareFloor && -twoProportionZ(fA, okA, fB, okB) >= o.z,
    });
  }
  return out;
}

function compareQuality(a: RunResult, b: RunResult, o: CompareOptions): MetricComparison[] {
  if (!a.quality || !b.quality) return [];
  const out: MetricComparison[] = [];
  const warmup = new Set(a.phases.filter((p) => p.warmup).map((p) => p.name));
  for (const [phase, scope] of Object.entries(a.quality.served.byPhase).sort(([x], [y]) =>
    x < y ? -1 : 1,
  )) {
    const other = b.quality.served.byPhase[phase];
    if (!other || warmup.has(phase)) continue;
    for (const metric of ['expectedWatchTimeS', 'ndcgAt10']) {
      const base = scope.overall.metrics[metric]?.mean;
      const cand = other.overall.metrics[metric]?.mean;
      if (base === undefined || cand === undefined || base <= 0) continue;
      out.push({
        phase,
        metric: `quality ${metric} (mean)`,
        base: round4(base),
        candidate: round4(cand),
        change: round4(cand / base),
        changeKind: 'ratio',
        threshold: o.qualityTolerance,
        regression: cand / base < 1 - o.qualityTolerance,
      });
    }
  }
  return out;
}

/** Compares a candidate run with a base run, phase by phase (measured phases matched by name). */
export function compareRuns(
  base: RunResult,
  candidate: RunResult,
  options: Partial<CompareOptions> = {},
): RunComparison {
  const o = { ...DEFAULT_COMPARE, ...options };
  const measured = (r: RunResult) => r.phases.filter((p) => !p.warmup);
  const bPhases = new Map(measured(candidate).map((p) => [p.name, p]));
  const metrics: MetricComparison[] = [];
  const unmatched: string[] = [];
  for (const pa of measured(base)) {
    const pb = bPhases.get(pa.name);
    if (pb) metrics.push(...comparePhase(pa, pb, o));
    else unmatched.push(`${pa.name} (only in ${base.runId})`);
  }
  for (const pb of measured(candidate))
    if (!measured(base).some((p) => p.name === pb.name))
      unmatched.push(`${pb.name} (only in ${candidate.runId})`);
  metrics.push(...compareQuality(base, candidate, o));
  return {
    base: base.runId,
    candidate: candidate.runId,
    metrics,
    regressions: metrics.filter((m) => m.regression).length,
    unmatched,
  };
}

/** The comparison as text: one line per metric, regressions marked `✗`. */
export function formatComparison(c: RunComparison): string[] {
  const lines = [`compare ${c.candidate} against ${c.base}:`];
  for (const m of c.metrics) {
    const change =
      m.changeKind === 'ratio'
        ? `×${m.change.toFixed(3)} (limit ${m.metric.startsWith('latency') ? `×${(1 + m.threshold).toFixed(3)}` : `×${(1 - m.threshold).toFixed(3)}`})`
        : `${m.change >= 0 ? '+' : ''}${(m.change * 100).toFixed(2)} pp (limit ${m.threshold >= 0 ? '+' : ''}${(m.threshold * 100).toFixed(2)} pp)`;
    lines.push(
      `  ${m.regression ? '✗' : '✓'} ${m.phase.padEnd(10)} ${m.metric.padEnd(44)} ${String(m.base).padStart(10)} → ${String(m.candidate).padEnd(10)} ${change}`,
    );
  }
  for (const u of c.unmatched) lines.push(`  - phase ${u}: not compared`);
  lines.push(c.regressions ? `${c.regressions} regression(s)` : 'no regression');
  return lines;
}
