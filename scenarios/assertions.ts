import { decodeFromCompressedBase64, type Histogram } from 'hdr-histogram-js';
import type { Series } from '../reports/series.ts';
import type { Assertion } from './define.ts';
import { formatAssertion } from './define.ts';
import { type RecoveryPhase, recoveryTime } from './recovery.ts';

/** What the assertions read of one phase (a subset of the runners' phase results). */
export interface PhaseMeasurement {
  phase: string;
  warmup: boolean;
  offeredQps: number;
  achievedQps: number;
  /** Latency from the intended send time, ms. */
  latencyMs: {
    count: number;
    p50: number;
    p95: number;
    p99: number;
    p90?: number;
    p999?: number;
    max?: number;
  };
  /** The same latencies as an HdrHistogram (µs, compressed base64): what unfiltered percentiles merge. */
  histogramBase64?: string;
  statusCounts: {
    '2xx': number;
    '3xx'?: number;
    '4xx': number;
    '5xx': number;
    errors: number;
    timeouts: number;
    /** 503 responses (shed), also counted in `5xx`. */
    shed?: number;
  };
  rungCounts: Record<string, number>;
  /** Responses per degradation reason `"<stage> <code>"` (a response counts once per reason). */
  reasonCounts?: Record<string, number>;
  /** 200 responses with fewer items than the request's `count`. */
  shortLists?: number;
  /** 200 responses not on `full` whose `meta.reasons` is empty. */
  unexplainedDegraded?: number;
  /** Epoch ms of the phase's first intended send time, and its per-second series (recovery time). */
  startedAtMs?: number;
  series?: Series;
}

/** Mean of each ground-truth quality metric over a group of lists (sim/quality). */
interface QualityGroup {
  lists: number;
  /** Distinct videos served ÷ catalogue size. */
  coverage?: number;
  metrics: Record<string, { mean: number }>;
}

/** A fault as the run logged it (reports/model.ts `FaultRecord`). */
export interface FaultMeasurement {
  phase: string;
  target: string;
  status: 'applied' | 'skipped' | 'failed';
  /** When the fault ended (ISO 8601); absent when it never ended. */
  endedAt?: string;
}

export interface RunMeasurements {
  phases: PhaseMeasurement[];
  /** 200 responses served (all phases, warm-up included: each one published an impression). */
  responses200: number;
  /** Distinct impression ids read back from the topic; undefined when not measured (`--target`). */
  impressionsOnTopic: number | undefined;
  /**
   * Events the core accepted (202) whose ids a real consumer did not find on the events topic;
   * 0 for runs without user events or without a live topic (the simulator); undefined when it could
   * not be measured (`--target`).
   */
  eventsLost?: number;
  /** Ground-truth quality of the served lists by phase (absent: not measured, e.g. the simulator). */
  quality?: { byPhase: Record<string, { overall: QualityGroup; byRung: Record<string, QualityGroup> }> };
  faults?: FaultMeasurement[];
  /**
   * The viral video (live runs with a `viral` phase): seconds from its first event until it was in
   * a list served to its region; null = never. Absent: not measured (the simulator).
   */
  viral?: { timeToListS: number | null };
  /** Quality by user cohort (cold-start: `byPhase[phase].byRung.cold|warm`); absent without cohorts. */
  qualityCohorts?: {
    byPhase: Record<string, { overall: QualityGroup; byRung: Record<string, QualityGroup> }>;
  };
  /**
   * Cold start's new uploads (live runs with an `uploads` phase): each upload's seconds to its first
   * served list (null: never), items of held-back videos served before their upload, and per phase
   * served items, new-upload items and those an exploration slot placed. Absent: not measured.
   */
  uploads?: {
    timesToListS: (number | null)[];
    leakedItems: number;
    byPhase: Record<string, { items: number; uploadItems: number; explorationItems: number }>;
  };
}

export interface AssertionOutcome {
  expression: string;
  observed: number;
  threshold: number;
  passed: boolean;
  /** Why the run could not check it (it neither passed nor failed; `passed` is true). */
  skipped?: string;
  /** What `observed` means when it is not the plain figure (e.g. not recovered). */
  note?: string;
}

function compare(observed: number, op: Assertion['op'], value: number): boolean {
  switch (op) {
    case '<':
      return observed < value;
    case '<=':
      return observed <= value;
    case '==':
      return observed === value;
    case '>=':
      return observed >= value;
    case '>':
      return observed > value;
  }
}

const QUALITY_KEY = {
  'quality.expected_watch_time': 'expectedWatchTimeS',
  'quality.ndcg_at_10': 'ndcgAt10',
  'quality.fresh_share': 'freshShare',
  'quality.coverage': 'coverage',
} as const;

/**
 * Evaluates one assertion against a run (k6 threshold semantics: filter by tag, then a statistic).
 * Warm-up phases are never included; without a `phase` tag every measured phase counts, merged.
 * Metrics (docs/scenarios.md, "Assertions"):
 * - `http_req_duration` `p(N)`/`max`: ms from the intended send time. Unfiltered, it is the
 *   percentile of all measured samples merged (the phases' HdrHistograms added, k6 semantics),
 *   never the worst phase's;
 * - `errors_5xx` (every 5xx, shed included), `errors_shed` (503: refused by admission),
 *   `errors_5xx_other` (5xx that are not 503), `errors_transport` (connection errors + timeouts);
 * - `achieved_rate_ratio` rate: achieved ÷ offered (the lowest phase when unfiltered);
 * - `rung_share{rung:X}` / `reason_share{reason:"S C"}` rate: share of 2xx responses;
 * - `short_lists` count: 200 responses with fewer items than asked;
 * - `degraded_unexplained` count: 200 responses off `full` that name no reason (issue 10: every
 *   brownout and fallback names its reason);
 * - `impressions_lost` / `events_lost` count: served or accepted but not on their topic;
 * - `quality.expected_watch_time|ndcg_at_10|fresh_share{phase:P}` `mean`, or `ratio_to{phase:B}`:
 *   the phase's mean over its served lists ÷ the baseline phase's;
 * - `viral_time_to_list_s`: seconds from the viral video's first event until it is in a list served
 *   to its region; never appearing fails;
 * - `recovery_time_s`: seconds from a fault's end until p99 and the outcome mix are back within
 *   the baseline's bounds (scenarios/recovery.ts); the longest over the faults selected.
 */
export function evaluate(a: Assertion, run: RunMeasurements): AssertionOutcome {
  const expression = formatAssertion(a);
  const phases = run.phases.filter((p) => !p.warmup && (!('phase' in a) || !a.phase || p.phase === a.phase));
  const result = (observed: number, extra: Partial<AssertionOutcome> = {}): AssertionOutcome => {
    const rounded = Math.round(observed * 1000) / 1000;
    return {
      expression,
      observed: rounded,
      threshold: a.value,
      passed: compare(rounded, a.op, a.value),
      ...extra,
    };
  };
  const skip = (why: string): AssertionOutcome => ({
    expression,
    observed: 0,
    threshold: a.value,
    passed: true,
    skipped: why,
  });
  const fail = (observed: number, note: string): AssertionOutcome => ({
    expression,
    observed: Math.round(observed * 1000) / 1000,
    threshold: a.value,
    passed: false,
    note,
  });
  const sum = (f: (p: PhaseMeasurement) => number) => phases.reduce((s, p) => s + f(p), 0);
  switch (a.metric) {
    case 'http_req_duration':
      return result(durationStat(phases, a.stat));
    case 'errors_5xx':
      return result(sum((p) => p.statusCounts['5xx']));
    case 'errors_shed':
      return result(sum((p) => p.statusCounts.shed ?? 0));
    case 'errors_5xx_other':
      return result(sum((p) => p.statusCounts['5xx'] - (p.statusCounts.shed ?? 0)));
    case 'errors_transport':
      return result(sum((p) => p.statusCounts.errors + p.statusCounts.timeouts));
    case 'short_lists':
      // A simulated run does not build lists: nothing measured is not zero short lists.
      if (phases.length > 0 && phases.every((p) => p.shortLists === undefined))
        return skip('list lengths were not measured in this run');
      return result(sum((p) => p.shortLists ?? 0));
    case 'degraded_unexplained':
      if (phases.length > 0 && phases.every((p) => p.unexplainedDegraded === undefined))
        return skip('response reasons were not read in this run');
      return result(sum((p) => p.unexplainedDegraded ?? 0));
    case 'achieved_rate_ratio':
      return result(
        phases.length ? Math.min(...phases.map((p) => (p.offeredQps ? p.achievedQps / p.offeredQps : 0))) : 0,
      );
    case 'rung_share': {
      const total = sum((p) => p.statusCounts['2xx']);
      return result(total ? sum((p) => p.rungCounts[a.rung] ?? 0) / total : 0);
    }
    case 'reason_share': {
      const total = sum((p) => p.statusCounts['2xx']);
      return result(total ? sum((p) => p.reasonCounts?.[a.reason] ?? 0) / total : 0);
    }
    case 'impressions_lost':
      if (run.impressionsOnTopic === undefined) return skip('the impressions topic was not read');
      return result(run.responses200 - run.impressionsOnTopic);
    case 'events_lost':
      if (run.eventsLost === undefined) return skip('the events topic was not read');
      return result(run.eventsLost);
    case 'quality.expected_watch_time':
    case 'quality.ndcg_at_10':
    case 'quality.fresh_share':
    case 'quality.coverage': {
      if (!run.quality) return skip('no ground-truth quality in this run');
      if ((a.cohort || a.baselineCohort) && !run.qualityCohorts)
        return skip('no user cohorts in this run (the new users were not held back)');
      const key = QUALITY_KEY[a.metric];
      const meanOf = (
        phase: string,
        cohort: string | undefined,
      ): { mean: number; lists: number; known: boolean } => {
        // A cohort narrows to its lists; a rung then narrows the whole run's lists (cohorts are
        // not split by rung).
        const scope = cohort ? run.qualityCohorts!.byPhase[phase] : run.quality!.byPhase[phase];
        const g = cohort ? scope?.byRung[cohort] : a.rung ? scope?.byRung[a.rung] : scope?.overall;
        const value = key === 'coverage' ? g?.coverage : g?.metrics[key]?.mean;
        return { mean: value ?? 0, lists: g?.lists ?? 0, known: value !== undefined };
      };
      const where = (phase: string, cohort: string | undefined) =>
        `phase ${phase}${a.rung && !cohort ? ` (rung ${a.rung})` : ''}${cohort ? ` (cohort ${cohort})` : ''}`;
      const m = meanOf(a.phase, a.cohort);
      if (m.lists === 0) return fail(0, `no lists scored in ${where(a.phase, a.cohort)}`);
      // A fleet run's quality surrogate (sim/quality/surrogate.ts) has means, not coverage.
      if (!m.known && key === 'coverage') return skip('no coverage in this run (a quality surrogate)');
      if (a.stat === 'mean') return result(m.mean);
      const b = meanOf(a.baseline!, a.baselineCohort);
      if (b.lists === 0 || b.mean === 0)
        return fail(
          0,
          `baseline ${where(a.baseline!, a.baselineCohort)} has no lists or a mean of 0: no ratio`,
        );
      return result(m.mean / b.mean, { note: `${round3(m.mean)} / ${round3(b.mean)}` });
    }
    case 'uploads_time_to_list_s': {
      if (!run.uploads) return skip('no uploads measured in this run');
      const times = run.uploads.timesToListS;
      if (times.length === 0) return fail(0, 'no upload');
      // Never served counts as +∞: a percentile that falls among them fails.
      const sorted = times.map((t) => t ?? Number.POSITIVE_INFINITY).sort((x, y) => x - y);
      const pct = a.stat === 'max' ? 100 : Number(/^p\(([\d.]+)\)$/.exec(a.stat)![1]);
      const v = sorted[Math.max(0, Math.ceil((pct / 100) * sorted.length) - 1)];
      if (!Number.isFinite(v))
        return fail(
          0,
          `${sorted.filter((t) => !Number.isFinite(t)).length} of ${sorted.length} uploads never served: ${a.stat} is never`,
        );
      return result(v);
    }
    case 'uploads_served_share': {
      if (!run.uploads) return skip('no uploads measured in this run');
      const t = run.uploads.timesToListS;
      return result(t.length ? t.filter((x) => x !== null).length / t.length : 0);
    }
    case 'uploads_item_share':
    case 'uploads_exploration_share': {
      if (!run.uploads) return skip('no uploads measured in this run');
      const counts = Object.entries(run.uploads.byPhase)
        .filter(([p]) => phases.some((m) => m.phase === p))
        .map(([, c]) => c);
      const items = counts.reduce((s, c) => s + c.items, 0);
      const uploads = counts.reduce((s, c) => s + c.uploadItems, 0);
      const explored = counts.reduce((s, c) => s + c.explorationItems, 0);
      if (a.metric === 'uploads_item_share') return result(items ? uploads / items : 0);
      return result(uploads ? explored / uploads : 0);
    }
    case 'uploads_leaked':
      if (!run.uploads) return skip('no uploads measured in this run');
      return result(run.uploads.leakedItems);
    case 'viral_time_to_list_s':
      if (!run.viral) return skip('no viral video measured in this run');
      if (run.viral.timeToListS === null)
        return fail(0, 'the viral video never appeared in a list served to its region');
      return result(run.viral.timeToListS);
    case 'recovery_time_s': {
      const base = run.phases.find((p) => p.phase === a.baseline);
      if (!base) return fail(0, `no baseline phase ${a.baseline}`);
      const selected = (run.faults ?? []).filter(
        (f) => (!a.phase || f.phase === a.phase) && (!a.target || f.target === a.target),
      );
      const checked = selected.filter((f) => f.status !== 'skipped');
      if (checked.length === 0)
        return skip(selected.length ? 'every selected fault was skipped' : 'no fault ran');
      const timed: RecoveryPhase[] = run.phases.flatMap((p) =>
        p.series && p.startedAtMs !== undefined
          ? [{ phase: p.phase, startedAtMs: p.startedAtMs, series: p.series }]
          : [],
      );
      const sc = base.statusCounts;
      const shed = sc.shed ?? 0;
      const baseline = {
        p99Ms: base.latencyMs.p99,
        outcomes: {
          ...base.rungCounts,
          shed,
          error: (sc['3xx'] ?? 0) + sc['4xx'] + sc['5xx'] - shed + sc.errors + sc.timeouts,
        },
      };
      let worst = 0;
      for (const f of checked) {
        if (f.status === 'failed' || f.endedAt === undefined)
          return fail(
            0,
            `a ${f.target} fault in phase ${f.phase} ${f.status === 'failed' ? 'failed' : 'never ended'}`,
          );
        const r = recoveryTime(Date.parse(f.endedAt), timed, baseline, a);
        if (!r.recovered)
          return fail(
            r.seconds,
            `not recovered within the ${r.seconds} s observed after the ${f.target} fault of ${f.phase}`,
          );
        worst = Math.max(worst, r.seconds);
      }
      return result(worst);
    }
  }
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * A latency statistic over the phases (ms): from their histograms merged when every phase has
 * one, else — a phase without samples kept nothing to merge — from a single phase's summary.
 */
function durationStat(phases: readonly PhaseMeasurement[], stat: string): number {
  const withSamples = phases.filter((p) => p.latencyMs.count > 0);
  if (withSamples.length === 0) return 0;
  const pct = stat === 'max' ? 100 : Number(/^p\(([\d.]+)\)$/.exec(stat)![1]);
  if (withSamples.every((p) => p.histogramBase64)) {
    let merged: Histogram | undefined;
    for (const p of withSamples) {
      const h = decodeFromCompressedBase64(p.histogramBase64!);
      if (!merged) merged = h;
      else merged.add(h);
    }
    return (pct >= 100 ? merged!.maxValue : merged!.getValueAtPercentile(pct)) / 1000;
  }
  if (withSamples.length > 1)
    throw new Error('http_req_duration over several phases needs every phase histogram (histogramBase64)');
  const l = withSamples[0].latencyMs;
  const fromSummary: Record<number, number | undefined> = {
    50: l.p50,
    90: l.p90,
    95: l.p95,
    99: l.p99,
    99.9: l.p999,
    100: l.max,
  };
  const v = fromSummary[pct];
  if (v === undefined) throw new Error(`p(${pct}) needs the phase histogram (histogramBase64)`);
  return v;
}
