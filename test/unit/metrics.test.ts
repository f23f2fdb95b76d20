import { describe, expect, it } from 'vitest';
import { CoreMetrics } from '../../core/observability/metrics.ts';
import { Breakers } from '../../core/pipeline/recommend.ts';
import { TEST_BREAKER } from '../helpers/core-fixtures.ts';
import { manualClock } from '../helpers/manual-clock.ts';

describe('CoreMetrics', () => {
  it('exposes request, stage, degradation, breaker and impression series in Prometheus text format', async () => {
    const m = new CoreMetrics({ defaultMetrics: false });
    m.requestSeconds.observe({ route: '/v1/recommendations', status: '200', rung: 'full' }, 0.012);
    m.observeRecommendation({ user: 0.4, ranking: 2.5, total: 5 }, [
      { stage: 'ranking', code: 'RECLAB_ERR_RANKER_TIMEOUT' },
    ]);
    m.setBreakers([{ name: 'ranker', state: 'open' }]);
    m.setImpressions({ published: 10, pending: 2, dropped: 0 });
    const text = await m.registry.metrics();
    expect(text).toContain(
      'reclab_http_request_duration_seconds_bucket{le="0.02",route="/v1/recommendations",status="200",rung="full"} 1',
    );
    expect(text).toContain('reclab_pipeline_stage_duration_seconds_count{stage="ranking"} 1');
    expect(text).not.toContain('stage="total"');
    expect(text).toContain('reclab_degradations_total{stage="ranking",code="RECLAB_ERR_RANKER_TIMEOUT"} 1');
    expect(text).toContain('reclab_circuit_breaker_state{breaker="ranker"} 2');
    expect(text).toContain('reclab_impressions{state="pending"} 2');
  });

  it('counts breaker transitions with the reason a breaker opened (error rate vs slow-call rate) and the rates it judges', async () => {
    const m = new CoreMetrics({ defaultMetrics: false });
    const { clock, advance } = manualClock();
    // Wired as core/main.ts wires them.
    const breakers = new Breakers(clock, ['subscriptions'], { ...TEST_BREAKER, openMs: 1000 }, (t) =>
      m.onBreakerTransition(t),
    );
    const sub = breakers.sources.get('subscriptions')!;
    for (let i = 0; i < 100; i++) sub.onSlow(sub.tryAcquire()); // a hung source: deadline misses
    for (let i = 0; i < 100; i++) breakers.ranker.onFailure(breakers.ranker.tryAcquire()); // a dead ranker
    for (let i = 0; i < 100; i++) {
      const t = breakers.features.tryAcquire();
      if (i % 4 === 0) breakers.features.onFailure(t);
      else breakers.features.onSuccess(t);
    }
    advance(1000);
    const trials = Array.from({ length: 10 }, () => sub.tryAcquire());
    for (const t of trials) sub.onSuccess(t);
    m.setBreakers(breakers.all().map((b) => ({ name: b.name, ...b.snapshot() })));
    const text = await m.registry.metrics();
    const line = (breaker: string, to: string, reason: string) =>
      `reclab_circuit_breaker_transitions_total{breaker="${breaker}",to="${to}",reason="${reason}"} 1`;
    expect(text).toContain(line('retrieval.subscriptions', 'open', 'slow_call_rate'));
    expect(text).toContain(line('retrieval.subscriptions', 'half_open', 'wait_elapsed'));
    expect(text).toContain(line('retrieval.subscriptions', 'closed', 'trials_passed'));
    expect(text).toContain(line('ranker', 'open', 'failure_rate'));
    expect(text).not.toContain('breaker="features",to=');
    expect(text).toContain('reclab_circuit_breaker_state{breaker="ranker"} 2');
    expect(text).toContain('reclab_circuit_breaker_state{breaker="retrieval.subscriptions"} 0');
    expect(text).toContain('reclab_circuit_breaker_calls{breaker="features"} 100');
    expect(text).toContain('reclab_circuit_breaker_rate{breaker="features",kind="failure"} 0.25');
    expect(text).toContain('reclab_circuit_breaker_rate{breaker="features",kind="slow"} 0');
  });
});
