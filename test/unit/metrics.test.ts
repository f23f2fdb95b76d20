import { describe, expect, it } from 'vitest';
import { CoreMetrics } from '../../core/observability/metrics.ts';

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
});
