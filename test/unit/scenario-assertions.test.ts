/**
 * The assertion metrics the redis-failure scenario's data-loss phases read (issue 9 item 6):
 * `reason_share{reason:"<stage> <code>"}` and `short_lists`, next to `rung_share`.
 */
import { describe, expect, it } from 'vitest';
import { evaluate, type PhaseMeasurement, type RunMeasurements } from '../../scenarios/assertions.ts';
import { formatAssertion } from '../../scenarios/define.ts';

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
