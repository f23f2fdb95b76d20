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
    m.setImpressions({
      published: 10,
      pending: 5,
      dropped: 0,
      buffered: 2,
      spoolPending: 3,
      spoolBytes: 512,
      spooled: 4,
      replayed: 1,
    });
    const text = await m.registry.metrics();
    expect(text).toContain(
      'reclab_http_request_duration_seconds_bucket{le="0.02",route="/v1/recommendations",status="200",rung="full"} 1',
    );
    expect(text).toContain('reclab_pipeline_stage_duration_seconds_count{stage="ranking"} 1');
    expect(text).not.toContain('stage="total"');
    expect(text).toContain('reclab_degradations_total{stage="ranking",code="RECLAB_ERR_RANKER_TIMEOUT"} 1');
    expect(text).toContain('reclab_circuit_breaker_state{breaker="ranker",state="open"} 1');
    expect(text).toContain('reclab_circuit_breaker_state{breaker="ranker",state="half_open"} 0');
    expect(text).toContain('reclab_circuit_breaker_state{breaker="ranker",state="closed"} 0');
    expect(text).toContain('reclab_impressions_total{outcome="published"} 10');
    expect(text).toContain('reclab_impressions_total{outcome="dropped"} 0');
    expect(text).toContain('reclab_impressions_total{outcome="spooled"} 4');
    expect(text).toContain('reclab_impressions_pending{level="memory"} 2');
    expect(text).toContain('reclab_impressions_pending{level="spool"} 3');
    expect(text).toContain('reclab_impressions_spool_bytes 512');
    expect(text).toContain('# TYPE reclab_impressions_total counter');
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
    expect(text).toContain('reclab_circuit_breaker_state{breaker="ranker",state="open"} 1');
    expect(text).toContain(
      'reclab_circuit_breaker_state{breaker="retrieval.subscriptions",state="closed"} 1',
    );
    expect(text).toContain('reclab_circuit_breaker_state{breaker="retrieval.subscriptions",state="open"} 0');
    expect(text).toContain('reclab_circuit_breaker_calls{breaker="features"} 100');
    expect(text).toContain('reclab_circuit_breaker_call_ratio{breaker="features",kind="failure"} 0.25');
    expect(text).toContain('reclab_circuit_breaker_call_ratio{breaker="features",kind="slow"} 0');
  });

  it('mirrors cumulative counts as counters that only grow, and reads admission, events, consumer and drift at scrape time', async () => {
    const m = new CoreMetrics({ defaultMetrics: false });
    let published = 7;
    m.watch({
      admission: () => ({
        running: 3,
        queued: 2,
        maxConcurrent: 64,
        maxQueue: 256,
        queueDelayMs: 40,
        shedding: true,
        rejectedFull: 5,
        rejectedShed: 9,
        inFlightCpuMs: 12,
        standingLagMs: 8,
      }),
      events: () => ({
        pending: 4,
        published,
        refused: 1,
        dropped: 0,
        buffered: 1,
        spooled: 3,
        spoolPending: 3,
        spoolBytes: 300,
        replayed: 0,
      }),
      consumer: () => ({
        running: true,
        lag: 1234,
        processed: 50,
        invalid: 1,
        duplicates: 2,
        errors: 0,
        streamErrors: 1,
        lastAppliedMs: 1_700_000_000_000,
      }),
      drift: () => [
        { feature: 'video_age', modelVersion: 'blue', samples: 100, psi: 0.31 },
        { feature: 'user_tenure', modelVersion: 'blue', samples: 10 },
      ],
    });
    let text = await m.registry.metrics();
    expect(text).toContain('reclab_bulkhead_running 3');
    expect(text).toContain('reclab_bulkhead_queued 2');
    expect(text).toContain('reclab_bulkhead_max_running 64');
    expect(text).toContain('reclab_bulkhead_queue_delay_seconds 0.04');
    expect(text).toContain('reclab_bulkhead_shedding 1');
    expect(text).toContain('reclab_bulkhead_rejections_total{reason="shedding"} 9');
    expect(text).toContain('reclab_admission_in_flight_cpu_seconds 0.012');
    expect(text).toContain('reclab_events_total{outcome="published"} 7');
    expect(text).toContain('reclab_events_pending{level="spool"} 3');
    expect(text).toContain('reclab_event_consumer_lag 1234');
    expect(text).toContain('reclab_event_consumer_messages_total{result="duplicate"} 2');
    expect(text).toContain('reclab_event_consumer_errors_total{kind="stream"} 1');
    expect(text).toContain('reclab_drift_psi{feature="video_age",model_version="blue"} 0.31');
    expect(text).not.toContain('reclab_drift_psi{feature="user_tenure"');
    expect(text).toContain('reclab_drift_window_samples{feature="user_tenure",model_version="blue"} 10');
    published = 12;
    text = await m.registry.metrics();
    expect(text).toContain('reclab_events_total{outcome="published"} 12');
    published = 3; // a count never goes back: the counter keeps its value
    text = await m.registry.metrics();
    expect(text).toContain('reclab_events_total{outcome="published"} 12');
  });
});
