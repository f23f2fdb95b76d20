/**
 * The assertion metrics the redis-failure scenario's data-loss phases read (issue 9 item 6):
 * `reason_share{reason:"<stage> <code>"}` and `short_lists`, next to `rung_share`; and issue 12's:
 * p(99.9), merged unfiltered percentiles, shed apart from other 5xx, lost impressions and events,
 * quality ratios to a baseline phase, recovery time — each shown to fail.
 */
import { encodeIntoCompressedBase64 } from 'hdr-histogram-js';
import { describe, expect, it } from 'vitest';
import { latencyHistogram } from '../../reports/latency.ts';
import { evaluate, type PhaseMeasurement, type RunMeasurements } from '../../scenarios/assertions.ts';
import { formatAssertion } from '../../scenarios/define.ts';
import { degradationExcess } from '../../scenarios/recovery.ts';

function phase(name: string, p: Partial<PhaseMeasurement>): PhaseMeasurement {
  return {
    phase: name,
    warmup: false,
    offeredQps: 100,
    achievedQps: 100,
    latencyMs: { count: 1000, p50: 2, p95: 5, p99: 9 },
    statusCounts: { '2xx': 1000, '4xx': 0, '5xx': 0, errors: 0, timeouts: 0 },
    rungCounts: { full: 1000 },
    ...p,
  };
}

const run: RunMeasurements = {
  phases: [
    phase('warmup', { warmup: true, shortLists: 50 }),
    phase('steady', { shortLists: 0 }),
    phase('data_lost', {
      rungCounts: { popularity: 990, default_features: 10 },
      reasonCounts: {
        'user_context RECLAB_ERR_FEATURES_MISSING': 950,
        'enrichment RECLAB_ERR_FEATURES_MISSING': 10,
      },
      shortLists: 3,
    }),
  ],
  responses200: 3000,
  impressionsOnTopic: 3000,
};

describe('scenario assertions: reason_share and short_lists', () => {
  it('reason_share is the share of 2xx responses with that stage and code, per phase', () => {
    const a = {
      metric: 'reason_share',
      reason: 'user_context RECLAB_ERR_FEATURES_MISSING',
      phase: 'data_lost',
      stat: 'rate',
      op: '>=',
      value: 0.9,
    } as const;
    expect(evaluate(a, run)).toEqual({
      expression: 'reason_share{phase:data_lost,reason:user_context RECLAB_ERR_FEATURES_MISSING} rate >= 0.9',
      observed: 0.95,
      threshold: 0.9,
      passed: true,
    });
    expect(evaluate({ ...a, phase: 'steady' }, run).observed).toBe(0);
    expect(evaluate({ ...a, phase: undefined }, run).observed).toBe(0.475); // 950 of 2000 measured
  });

  it('short_lists counts short 200 responses over the measured phases (warm-up excluded)', () => {
    const a = { metric: 'short_lists', stat: 'count', op: '==', value: 0 } as const;
    expect(evaluate(a, run)).toMatchObject({ observed: 3, passed: false });
    expect(evaluate({ ...a, phase: 'steady' }, run)).toMatchObject({ observed: 0, passed: true });
    expect(formatAssertion(a)).toBe('short_lists count == 0');
  });

  it('short_lists is skipped, not passed at 0, when no phase measured list lengths (a simulated run)', () => {
    const a = { metric: 'short_lists', stat: 'count', op: '==', value: 0 } as const;
    const unmeasured = { ...run, phases: run.phases.map(({ shortLists: _, ...p }) => p) };
    expect(evaluate(a, unmeasured)).toMatchObject({ passed: true, skipped: expect.any(String) });
  });

  it('degraded_unexplained counts answers off full that name no reason; skipped when reasons were not read', () => {
    const a = { metric: 'degraded_unexplained', stat: 'count', op: '==', value: 0 } as const;
    const measured: RunMeasurements = {
      ...run,
      phases: [
        phase('warmup', { warmup: true, unexplainedDegraded: 7 }),
        phase('steady', { unexplainedDegraded: 0 }),
        phase('overload', { rungCounts: { full: 900, light_ranker: 100 }, unexplainedDegraded: 2 }),
      ],
    };
    expect(evaluate(a, measured)).toMatchObject({ observed: 2, passed: false });
    expect(evaluate({ ...a, phase: 'steady' }, measured)).toMatchObject({ observed: 0, passed: true });
    expect(formatAssertion(a)).toBe('degraded_unexplained count == 0');
    expect(evaluate(a, run)).toMatchObject({ passed: true, skipped: expect.any(String) });
  });

  it('rung_share{rung:full} == 0 fails on one full response', () => {
    const a = {
      metric: 'rung_share',
      rung: 'full',
      phase: 'data_lost',
      stat: 'rate',
      op: '==',
      value: 0,
    } as const;
    expect(evaluate(a, run).passed).toBe(true);
    const one = { ...run, phases: [phase('data_lost', { rungCounts: { full: 1, popularity: 999 } })] };
    expect(evaluate(a, one).passed).toBe(false);
  });
});

/** A µs latency histogram with `values` (ms), as the runners encode it. */
function histogramOf(valuesMs: number[]): string {
  const h = latencyHistogram();
  for (const v of valuesMs) h.recordValue(Math.round(v * 1000));
  return encodeIntoCompressedBase64(h);
}

/** A measured phase with its histogram, statuses and a per-second series starting at `startedAtMs`. */
function timed(
  name: string,
  startedAtMs: number,
  seconds: {
    p99Ms: number;
    rungCounts: Record<string, number>;
    shed?: number;
    errors?: number;
    histogramBase64?: string;
  }[],
  extra: Partial<PhaseMeasurement> = {},
): PhaseMeasurement {
  return phase(name, {
    startedAtMs,
    series: {
      bucketS: 1,
      buckets: seconds.map((s, i) => ({
        startS: i,
        count: Object.values(s.rungCounts).reduce((a, b) => a + b, 0) + (s.shed ?? 0) + (s.errors ?? 0),
        p99Ms: s.p99Ms,
        ...(s.histogramBase64 ? { histogramBase64: s.histogramBase64 } : {}),
        rungCounts: s.rungCounts,
        shed: s.shed ?? 0,
        errors: s.errors ?? 0,
      })),
    },
    ...extra,
  });
}

describe('v2 assertions: each can fail', () => {
  const fast = Array.from({ length: 990 }, () => 5);
  const slowTail = Array.from({ length: 10 }, () => 400);

  it('p(99.9) and max read the histogram', () => {
    const run: RunMeasurements = {
      phases: [phase('steady', { histogramBase64: histogramOf([...fast, ...slowTail]) })],
      responses200: 0,
      impressionsOnTopic: 0,
    };
    const p999 = { metric: 'http_req_duration', stat: 'p(99.9)', op: '<', value: 300 } as const;
    expect(evaluate(p999, run)).toMatchObject({ passed: false });
    expect(evaluate(p999, run).observed).toBeCloseTo(400, 0);
    expect(evaluate({ ...p999, stat: 'p(98)' }, run)).toMatchObject({ passed: true });
    expect(evaluate({ ...p999, stat: 'p(98)' }, run).observed).toBeCloseTo(5, 1);
    expect(evaluate({ ...p999, stat: 'max', value: 400 }, run).passed).toBe(false);
  });

  it('an unfiltered percentile merges every measured phase’s samples (k6), not the worst phase', () => {
    // Phase a: 1000 fast; phase b: 980 fast + 20 at 400 ms. Worst phase p99 = 400 ms; merged, the
    // 20 slow samples are 1% of 2000: p99 = 5 ms, p(99.6) = 400 ms.
    const run: RunMeasurements = {
      phases: [
        phase('warmup', { warmup: true, histogramBase64: histogramOf(Array(1000).fill(900)) }),
        phase('a', {
          histogramBase64: histogramOf(Array(1000).fill(5)),
          latencyMs: { count: 1000, p50: 5, p95: 5, p99: 5 },
        }),
        phase('b', {
          histogramBase64: histogramOf([...fast.slice(10), ...slowTail, ...slowTail]),
          latencyMs: { count: 1000, p50: 5, p95: 5, p99: 400 },
        }),
      ],
      responses200: 0,
      impressionsOnTopic: 0,
    };
    const p99 = { metric: 'http_req_duration', stat: 'p(99)', op: '<=', value: 10 } as const;
    expect(evaluate(p99, run).passed).toBe(true);
    expect(evaluate(p99, run).observed).toBeCloseTo(5, 1);
    expect(evaluate({ ...p99, phase: 'b' }, run).passed).toBe(false);
    expect(evaluate({ ...p99, stat: 'p(99.6)' }, run).passed).toBe(false);
  });

  it('shed (503) is counted apart from other 5xx; errors_5xx still counts both', () => {
    const run: RunMeasurements = {
      phases: [
        phase('spike', {
          statusCounts: { '2xx': 900, '4xx': 0, '5xx': 100, errors: 0, timeouts: 0, shed: 97 },
        }),
      ],
      responses200: 900,
      impressionsOnTopic: 900,
    };
    const shed = { metric: 'errors_shed', stat: 'count', op: '<=', value: 50 } as const;
    expect(evaluate(shed, run)).toMatchObject({ observed: 97, passed: false });
    expect(evaluate({ ...shed, metric: 'errors_5xx_other', value: 0 }, run)).toMatchObject({
      observed: 3,
      passed: false,
    });
    expect(evaluate({ ...shed, metric: 'errors_5xx', value: 100 }, run)).toMatchObject({
      observed: 100,
      passed: true,
    });
  });

  it('impressions_lost and events_lost fail on one missing; skipped when not read', () => {
    const base = { phases: [phase('steady', {})], responses200: 1000 };
    const imp = { metric: 'impressions_lost', stat: 'count', op: '==', value: 0 } as const;
    expect(evaluate(imp, { ...base, impressionsOnTopic: 999 })).toMatchObject({ observed: 1, passed: false });
    expect(evaluate(imp, { ...base, impressionsOnTopic: undefined })).toMatchObject({
      passed: true,
      skipped: 'the impressions topic was not read',
    });
    const ev = { metric: 'events_lost', stat: 'count', op: '==', value: 0 } as const;
    expect(evaluate(ev, { ...base, impressionsOnTopic: 1000, eventsLost: 2 })).toMatchObject({
      passed: false,
    });
    expect(evaluate(ev, { ...base, impressionsOnTopic: 1000, eventsLost: undefined }).skipped).toBeTruthy();
  });

  it('viral_time_to_list_s: over the threshold fails, never appearing (null) fails, unmeasured skips', () => {
    const base = { phases: [phase('steady', {})], responses200: 1000, impressionsOnTopic: 1000 };
    const a = { metric: 'viral_time_to_list_s', stat: 'max', op: '<', value: 60 } as const;
    expect(formatAssertion(a)).toBe('viral_time_to_list_s < 60');
    expect(evaluate(a, { ...base, viral: { timeToListS: 12.5 } })).toMatchObject({
      observed: 12.5,
      passed: true,
    });
    expect(evaluate(a, { ...base, viral: { timeToListS: 61 } })).toMatchObject({
      observed: 61,
      passed: false,
    });
    expect(evaluate(a, { ...base, viral: { timeToListS: null } })).toMatchObject({
      passed: false,
      note: 'the viral video never appeared in a list served to its region',
    });
    expect(evaluate(a, base)).toMatchObject({ passed: true, skipped: 'no viral video measured in this run' });
  });

  describe('quality ratio_to a baseline phase', () => {
    const group = (watch: number, ndcg: number, fresh: number, lists = 100) => ({
      lists,
      metrics: { expectedWatchTimeS: { mean: watch }, ndcgAt10: { mean: ndcg }, freshShare: { mean: fresh } },
    });
    const run: RunMeasurements = {
      phases: [phase('steady', {}), phase('outage', {})],
      responses200: 0,
      impressionsOnTopic: 0,
      quality: {
        byPhase: {
          steady: { overall: group(800, 0.5, 0.2), byRung: { full: group(800, 0.5, 0.2) } },
          outage: { overall: group(400, 0.45, 0.05), byRung: { popularity: group(400, 0.45, 0.05) } },
        },
      },
    };
    const watch = {
      metric: 'quality.expected_watch_time',
      stat: 'ratio_to',
      phase: 'outage',
      baseline: 'steady',
      op: '>=',
      value: 0.6,
    } as const;

    it('expected watch time, NDCG@10 and fresh share, each against its threshold', () => {
      expect(evaluate(watch, run)).toMatchObject({
        expression: 'quality.expected_watch_time{phase:outage} ratio_to{phase:steady} >= 0.6',
        observed: 0.5,
        passed: false,
      });
      expect(evaluate({ ...watch, value: 0.5 }, run).passed).toBe(true);
      expect(evaluate({ ...watch, metric: 'quality.ndcg_at_10', value: 0.95 }, run)).toMatchObject({
        observed: 0.9,
        passed: false,
      });
      expect(evaluate({ ...watch, metric: 'quality.fresh_share', value: 0.5 }, run)).toMatchObject({
        observed: 0.25,
        passed: false,
      });
      expect(
        evaluate({ metric: 'quality.fresh_share', stat: 'mean', phase: 'steady', op: '>=', value: 0.1 }, run),
      ).toMatchObject({ observed: 0.2, passed: true });
    });

    it('a phase without lists fails; a run without quality skips', () => {
      expect(evaluate({ ...watch, rung: 'full', value: 0 }, run)).toMatchObject({ passed: false });
      expect(evaluate(watch, { ...run, quality: undefined })).toMatchObject({
        passed: true,
        skipped: expect.any(String),
      });
    });
  });

  describe('recovery_time_s', () => {
    type Second = { p99Ms: number; rungCounts: Record<string, number>; shed?: number };
    const t0 = Date.UTC(2026, 0, 1);
    const ok: Second = { p99Ms: 20, rungCounts: { full: 100 } };
    const degraded: Second = { p99Ms: 20, rungCounts: { light_ranker: 100 } };
    const slow: Second = { p99Ms: 300, rungCounts: { full: 100 } };
    // steady: 10 s normal (p99 20 ms, all full). outage: 5 s; the fault ends at its end (t0 + 15 s).
    // recovery: 3 s light_ranker, 1 s slow, then normal.
    const run = (after: Second[]): RunMeasurements => ({
      phases: [
        timed('steady', t0, Array(10).fill(ok), { latencyMs: { count: 1000, p50: 5, p95: 10, p99: 20 } }),
        timed('outage', t0 + 10_000, Array(5).fill(degraded)),
        timed('recovery', t0 + 15_200, after),
      ],
      responses200: 0,
      impressionsOnTopic: 0,
      faults: [
        {
          phase: 'outage',
          target: 'ranker_tier',
          status: 'applied',
          endedAt: new Date(t0 + 15_000).toISOString(),
        },
      ],
    });
    const a = { metric: 'recovery_time_s', stat: 'max', baseline: 'steady', op: '<', value: 10 } as const;

    it('is the time from the fault’s end to the first of 3 seconds back within bounds', () => {
      const r = run([degraded, degraded, degraded, slow, ok, ok, ok, ok]);
      // The recovery phase's series starts 0.2 s after the fault's end; its 5th second is the first normal one.
      expect(evaluate(a, r)).toMatchObject({
        observed: 4.2,
        passed: true,
        expression: 'recovery_time_s{baseline:steady} < 10',
      });
      expect(evaluate({ ...a, value: 4 }, r).passed).toBe(false);
      // A looser p99 bound counts the slow second as recovered.
      expect(evaluate({ ...a, p99Factor: 20 }, r).observed).toBe(3.2);
    });

    it('p99 over the 3-second window from the seconds’ histograms: one slow moment does not hold recovery back, a slow tail does', () => {
      /** A second of 100 full responses: `slowN` of them at 300 ms, the rest at 5 ms. */
      const second = (slowN: number): Second & { histogramBase64: string } => {
        const h = latencyHistogram();
        for (let i = 0; i < 100; i++) h.recordValue(i < slowN ? 300_000 : 5_000);
        return {
          p99Ms: slowN > 0 ? 300 : 5,
          rungCounts: { full: 100 },
          histogramBase64: encodeIntoCompressedBase64(h),
        };
      };
      // One request at 300 ms in the first second: that second's own p99 is 300 ms (15× the bound of
      // 30 ms), but over 3 s it is 1 request in 300, below the 99th percentile: recovered at once.
      expect(evaluate(a, run([second(1), second(0), second(0), second(0)]))).toMatchObject({
        observed: 0.2,
        passed: true,
      });
      // Two slow requests in every second: 2% of each window, above the p99 every time.
      expect(evaluate(a, run([second(2), second(2), second(2), second(2), second(2)]))).toMatchObject({
        passed: false,
        note: expect.stringMatching(/not recovered/),
      });
      // Without histograms (runs recorded before them) each second's own p99 is judged, as before.
      const bare = (x: Second & { histogramBase64?: string }) => ({
        p99Ms: x.p99Ms,
        rungCounts: x.rungCounts,
      });
      expect(evaluate(a, run([second(1), second(0), second(0), second(0)].map(bare))).observed).toBe(1.2);
    });

    it('not recovered within the data: fails whatever the threshold', () => {
      const r = run([degraded, ok, ok, degraded, ok, ok]);
      expect(evaluate({ ...a, value: 1000 }, r)).toMatchObject({
        passed: false,
        note: expect.stringMatching(/not recovered/),
      });
      expect(evaluate({ ...a, stableS: 2, value: 1000 }, r)).toMatchObject({ passed: true, observed: 1.2 });
    });

    it('one-sided: a second better than a noisy baseline is within bounds, a worse one is not', () => {
      // A baseline with 12% light_ranker (a contended machine); afterwards every second all full.
      const noisy = run([ok, ok, ok]);
      noisy.phases[0] = timed(
        'steady',
        t0,
        Array(10).fill({ p99Ms: 20, rungCounts: { full: 88, light_ranker: 12 } }),
        {
          latencyMs: { count: 1000, p50: 5, p95: 10, p99: 20 },
          rungCounts: { full: 880, light_ranker: 120 },
        },
      );
      expect(evaluate(a, noisy)).toMatchObject({ passed: true, observed: 0.2 });
      // 15% popularity (worse than light_ranker) is 15 points more at popularity-or-worse: out.
      const worse: Second = { p99Ms: 20, rungCounts: { full: 85, popularity: 15 } };
      const r = run([worse, worse, ok, ok, ok]);
      r.phases[0] = noisy.phases[0];
      expect(evaluate(a, r).observed).toBe(2.2);
      expect(evaluate({ ...a, rungMixTolerance: 0.15 }, r).observed).toBe(0.2);
    });

    it('degradationExcess reads the ladder: better is 0, all worse is 1', () => {
      const m = (o: Record<string, number>) => new Map(Object.entries(o));
      expect(degradationExcess(m({ full: 1 }), m({ full: 0.5, light_ranker: 0.5 }))).toBe(0);
      expect(degradationExcess(m({ popularity: 1 }), m({ full: 1 }))).toBe(1);
      expect(degradationExcess(m({ full: 0.9, shed: 0.1 }), m({ full: 0.9, popularity: 0.1 }))).toBeCloseTo(
        0.1,
      );
      expect(
        degradationExcess(m({ full: 0.9, partial_retrieval: 0.1 }), m({ full: 0.9, light_ranker: 0.1 })),
      ).toBe(0);
    });

    it('shed and errors count in the outcome mix', () => {
      const shedding: Second = { p99Ms: 20, rungCounts: { full: 80 }, shed: 20 };
      const r = run([shedding, shedding, ok, ok, ok]);
      expect(evaluate(a, r).observed).toBe(2.2);
      expect(evaluate({ ...a, rungMixTolerance: 0.25 }, r).observed).toBe(0.2);
    });

    it('a failed fault fails it; only skipped faults skip it', () => {
      const r = run([ok, ok, ok]);
      expect(
        evaluate(a, { ...r, faults: [{ ...r.faults![0], status: 'failed', endedAt: undefined }] }).passed,
      ).toBe(false);
      expect(evaluate(a, { ...r, faults: [{ ...r.faults![0], status: 'skipped' }] }).skipped).toBeTruthy();
    });
  });
});
