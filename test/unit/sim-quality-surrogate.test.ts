/**
 * The fleet run's quality surrogate (sim/quality/surrogate.ts): per-rung means pooled from scored
 * runs (lists-weighted, warm-up left out), a phase's surrogate the rung-weighted mean of its 200s,
 * rungs the table does not know named and left out, and quality assertions checked on it (coverage
 * skipped: a surrogate has none).
 */
import { describe, expect, it } from 'vitest';
import type { RunResult } from '../../reports/model.ts';
import { evaluate } from '../../scenarios/assertions.ts';
import { rungQualityTable, surrogateQuality } from '../../sim/quality/surrogate.ts';

const group = (lists: number, watch: number) => ({
  lists,
  distinctVideos: 1,
  coverage: 0.1,
  metrics: { expectedWatchTimeS: { mean: watch, p50: watch } },
});

/** A scored run: phases `warmup` (warm-up), `a`, `b`, with per-rung groups. */
const scored = (id: string, byPhase: Record<string, Record<string, [number, number]>>) =>
  ({
    runId: id,
    phases: Object.keys(byPhase).map((name) => ({ name, warmup: name === 'warmup' })),
    quality: {
      served: {
        catalogueSize: 10,
        byPhase: Object.fromEntries(
          Object.entries(byPhase).map(([p, rungs]) => [
            p,
            {
              overall: group(1, 0),
              byRung: Object.fromEntries(Object.entries(rungs).map(([r, [n, w]]) => [r, group(n, w)])),
            },
          ]),
        ),
      },
    },
  }) as unknown as RunResult;

describe('quality surrogate', () => {
  it('pools each rung over the measured phases of every run, weighted by lists', () => {
    const t = rungQualityTable([
      scored('r1', { warmup: { full: [100, 5000] }, a: { full: [30, 900] }, b: { popularity: [10, 200] } }),
      scored('r2', { a: { full: [10, 1000] } }),
    ]);
    expect(t.sources).toEqual(['r1', 'r2']);
    expect(t.byRung.full.lists).toBe(40);
    expect(t.byRung.full.metrics.expectedWatchTimeS).toBeCloseTo((30 * 900 + 10 * 1000) / 40, 9);
    expect(t.byRung.popularity.metrics.expectedWatchTimeS).toBe(200);
  });

  it('a phase is worth the rung-weighted mean; unknown rungs are named and left out', () => {
    const t = rungQualityTable([scored('r', { a: { full: [10, 1000], popularity: [10, 200] } })]);
    const s = surrogateQuality(
      [
        { name: 'x', rungCounts: { full: 75, popularity: 25, light_ranker: 3 } },
        { name: 'y', rungCounts: { popularity: 4 } },
      ],
      t,
    );
    expect(s.byPhase.x.overall.lists).toBe(100);
    expect(s.byPhase.x.overall.metrics.expectedWatchTimeS.mean).toBeCloseTo(0.75 * 1000 + 0.25 * 200, 9);
    expect(s.byPhase.y.overall.metrics.expectedWatchTimeS.mean).toBe(200);
    expect(s.missingRungs).toEqual(['light_ranker']);
  });

  it('refuses runs without quality (fleet runs)', () => {
    expect(() => rungQualityTable([{ runId: 'f', phases: [] } as unknown as RunResult])).toThrow(/no run/);
  });

  it('quality assertions are checked on the surrogate; coverage is skipped', () => {
    const t = rungQualityTable([scored('r', { a: { full: [10, 1000], light_ranker: [10, 900] } })]);
    const quality = surrogateQuality(
      [
        { name: 'steady', rungCounts: { full: 10 } },
        { name: 'outage', rungCounts: { light_ranker: 10 } },
      ],
      t,
    );
    const run = { phases: [], responses200: 0, impressionsOnTopic: 0, quality };
    const ratio = evaluate(
      {
        metric: 'quality.expected_watch_time',
        phase: 'outage',
        stat: 'ratio_to',
        baseline: 'steady',
        op: '<',
        value: 1,
      },
      run,
    );
    expect([ratio.passed, ratio.observed]).toEqual([true, 0.9]);
    const coverage = evaluate(
      { metric: 'quality.coverage', phase: 'steady', stat: 'mean', op: '>=', value: 0.1 },
      run,
    );
    expect(coverage.skipped).toMatch(/surrogate/);
  });
});
