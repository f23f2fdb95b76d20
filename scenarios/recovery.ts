/**
 * Recovery time after a fault (issue 12, `recovery_time_s`): how long after a fault ends until the
 * service is back to normal, measured on the per-second series both runners record
 * (reports/series.ts). The definition (docs/scenarios.md, "Recovery time"):
 *
 * 1. **Normal** is a baseline phase B: its p99 (ms from the intended send time) and its *outcome
 *    mix* — the share of its requests per rung, with shed (503) and errors (any other non-2xx,
 *    connection errors, timeouts) as two more categories.
 * 2. The fault **ends** when its injector has reverted it (the container answers again, the
 *    process was restarted, the toxic removed); for `restart_empty`, when Redis is back, empty.
 * 3. The seconds after the end are the series buckets (1 s each, by intended send time, aligned to
 *    each phase's start) that **start at or after** the end, in time order across phases.
 * 4. A bucket is **within bounds on its mix** when it has requests and its outcome mix is no more
 *    degraded than B's by more than `rungMixTolerance` (default 0.1): for every rung r of the ladder
 *    (best first, core/resilience/fallback-ladder.ts, then shed, then error), the bucket's share of
 *    requests served at r or worse exceeds B's share by at most the tolerance (`degradationExcess`:
 *    a one-sided distance along the ladder). One-sided: a second better than a noisy baseline —
 *    all `full` where B had some `light_ranker` — is back to normal, not off it.
 * 5. Recovered at the first bucket that starts a run of `stableS` (default 3) consecutive buckets,
 *    each within bounds on its mix, whose requests **together** have a p99 ≤ p99(B) × `p99Factor`
 *    (default 1.5): a rolling window, its p99 from the buckets' histograms merged. Why a window and
 *    not each second's own p99: at 100 requests/s a second's p99 is its slowest request or two, so
 *    one slow second (24 ms in a steady phase with a 14 ms p99, measured) that B's whole-phase p99 absorbs
 *    would read as "not recovered"; over 3 s it is 1% of the requests, as in B. A run recorded
 *    without bucket histograms falls back to each bucket's own p99 ≤ the bound. **Recovery time** =
 *    the run's first bucket's start − the fault's end, seconds; its resolution is one bucket (a
 *    fault that changed nothing reads between 0 and 1 s).
 * 6. No such run before the data ends: **not recovered** — the assertion fails, whatever its
 *    threshold, and `observed` is the seconds of data after the end.
 */

import { decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import { RUNGS } from '../core/resilience/fallback-ladder.ts';
import { latencyHistogram } from '../reports/latency.ts';
import type { Series, SeriesBucket } from '../reports/series.ts';

export interface RecoveryPhase {
  phase: string;
  /** Epoch ms of the phase's first intended send time (its series' 0). */
  startedAtMs: number;
  series: Series;
}

export interface RecoveryBaseline {
  p99Ms: number;
  /** Requests per outcome: rungs of 2xx responses, `shed`, `error`. */
  outcomes: Record<string, number>;
}

export interface RecoveryOptions {
  p99Factor?: number;
  rungMixTolerance?: number;
  stableS?: number;
}

export interface RecoveryResult {
  recovered: boolean;
  /** Seconds from the fault's end to the recovery (or, not recovered, of data after the end). */
  seconds: number;
}

export const RECOVERY_DEFAULTS = { p99Factor: 1.5, rungMixTolerance: 0.1, stableS: 3 } as const;

/** The outcome mix of a set of counts: rungs, then `shed` and `error`. */
export function outcomeShares(outcomes: Record<string, number>): Map<string, number> {
  const total = Object.values(outcomes).reduce((a, b) => a + b, 0);
  const m = new Map<string, number>();
  if (total === 0) return m;
  for (const [k, v] of Object.entries(outcomes)) if (v > 0) m.set(k, v / total);
  return m;
}

/** Outcome categories best first: the ladder's rungs, then shed, then error; unknown rungs before shed. */
function severity(category: string): number {
  if (category === 'error') return RUNGS.length + 2;
  if (category === 'shed') return RUNGS.length + 1;
  const i = (RUNGS as readonly string[]).indexOf(category);
  return i < 0 ? RUNGS.length : i;
}

/**
 * How much more degraded distribution `p` is than `q` along the ladder: the largest, over the
 * severity levels k, of P(outcome at k or worse) − Q(outcome at k or worse); 0 when `p` is as good
 * as `q` or better at every level, 1 when all of `p` is worse than all of `q`. In [0, 1].
 */
export function degradationExcess(p: Map<string, number>, q: Map<string, number>): number {
  const levels = RUNGS.length + 3;
  const tailP = new Float64Array(levels + 1);
  const tailQ = new Float64Array(levels + 1);
  for (const [k, v] of p) tailP[severity(k)] += v;
  for (const [k, v] of q) tailQ[severity(k)] += v;
  let worst = 0;
  for (let k = levels - 1; k >= 0; k--) {
    tailP[k] += tailP[k + 1];
    tailQ[k] += tailQ[k + 1];
    worst = Math.max(worst, tailP[k] - tailQ[k]);
  }
  return Math.min(1, worst);
}

/** See the file header. */
export function recoveryTime(
  faultEndMs: number,
  phases: readonly RecoveryPhase[],
  baseline: RecoveryBaseline,
  opts: RecoveryOptions = {},
): RecoveryResult {
  const p99Factor = opts.p99Factor ?? RECOVERY_DEFAULTS.p99Factor;
  const tol = opts.rungMixTolerance ?? RECOVERY_DEFAULTS.rungMixTolerance;
  const stableS = opts.stableS ?? RECOVERY_DEFAULTS.stableS;
  const normal = outcomeShares(baseline.outcomes);
  const after: Second[] = phases
    .flatMap((p) =>
      p.series.buckets.map((b) => ({
        startMs: p.startedAtMs + b.startS * 1000,
        endMs: p.startedAtMs + (b.startS + p.series.bucketS) * 1000,
        b,
      })),
    )
    .filter((x) => x.startMs >= faultEndMs)
    .sort((x, y) => x.startMs - y.startMs)
    // Each bucket's histogram decoded once, however many windows it is in.
    .map((x) => ({
      ...x,
      h: x.b.histogramBase64 ? decodeFromCompressedBase64(x.b.histogramBase64) : undefined,
    }));
  const bound = baseline.p99Ms * p99Factor;
  const mixOk = after.map(({ b }) => {
    const mix = outcomeShares({ ...b.rungCounts, shed: b.shed, error: b.errors });
    return b.count > 0 && degradationExcess(mix, normal) <= tol + 1e-9;
  });
  for (let i = 0; i + stableS <= after.length; i++) {
    let ok = true;
    for (let j = i; j < i + stableS && ok; j++) ok = mixOk[j];
    if (ok && windowP99Ms(after.slice(i, i + stableS)) <= bound)
      return { recovered: true, seconds: round1((after[i].startMs - faultEndMs) / 1000) };
  }
  const lastEnd = after.length ? after[after.length - 1].endMs : faultEndMs;
  return { recovered: false, seconds: round1((lastEnd - faultEndMs) / 1000) };
}

/** One bucket after the fault's end, on the run's time axis, with its decoded histogram. */
interface Second {
  startMs: number;
  endMs: number;
  b: SeriesBucket;
  h: Histogram | undefined;
}

/**
 * p99 (ms) of the seconds' requests together, from their histograms merged; without a histogram in
 * every answered second, the largest second's p99 (so each must be within the bound).
 */
function windowP99Ms(window: readonly Second[]): number {
  const answered = window.filter(({ b, h }) => b.p99Ms > 0 || h);
  if (answered.length === 0) return 0;
  if (answered.some(({ h }) => !h)) return Math.max(...answered.map(({ b }) => b.p99Ms));
  const merged = latencyHistogram();
  for (const { h } of answered) merged.add(h!);
  return merged.getValueAtPercentile(99) / 1000;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
