import { defineScenario } from './define.ts';

/**
 * Viral spike (the product brief's first scenario): the arrival rate jumps to 3× the core's knee on
 * this machine (200 QPS: p99 ≤ 200 ms and ≥ 99% on `full`, `bench/knee.ts` on a quiet machine,
 * 2026-12-06, docs/performance.md) and falls back. Under the overload the core must degrade
 * instead of failing: requests it cannot run in full are answered from cheaper rungs, and shed with
 * 503 only past that. Meanwhile one video's views explode (`viral`): it must reach the trending sets
 * and the lists served to its region within 60 s (`viral_time_to_list_s`).
 *
 * `reclab sim viral-spike --qps 50000` scales the busiest measured rate (the spike's peak) to
 * 50K QPS and every other rate with it, on a simulated fleet (`reclab plan` sizes one).
 */
export const viralSpike = defineScenario({
  name: 'viral-spike',
  description:
    'The arrival rate spikes to ~3× the knee for 20 s and decays; the core browns out to cheaper rungs instead of failing, and recovers',
  world: { users: 20_000, videos: 10_000 },
  // The spike's budget is p99 ≤ 200 ms from the intended send time. The brownout's bounds sit well
  // below it (deadline 140 ms; full up to 70 ms of expected time to answer, light 90, lean 110), so
  // the core turns to cheaper rungs while its queue is still short: what follows admission (the
  // answer itself, the way back, the load generator's own late sends) fits too. With looser bounds
  // (100/130/150/160) the queue ran longer: spike p99 273 ms at this peak (docs/scenarios.md).
  core: { brownout: { fullMaxMs: 70, lightMaxMs: 90, leanMaxMs: 110, deadlineMs: 140 } },
  phases: [
    { name: 'warmup', arrivals: { kind: 'constant', rateQps: 50 }, durationS: 5, warmup: true },
    { name: 'steady', arrivals: { kind: 'constant', rateQps: 150 }, durationS: 15 },
    {
      name: 'spike',
      // 150 → 600 QPS in 5 s, held 20 s, back to 150 in 10 s; 10 s of calm each side.
      arrivals: { kind: 'spike', baseQps: 150, peakQps: 600, atS: 10, riseS: 5, holdS: 20, decayS: 10 },
      durationS: 55,
      // As the spike starts rising, one recent, not-yet-popular video goes viral: 500 users of its
      // region send 200 watch events/s for it until the phase ends.
      viral: { atS: 10, users: 500, eventsPerS: 200 },
    },
    { name: 'recovery', arrivals: { kind: 'constant', rateQps: 150 }, durationS: 15 },
  ],
  assertions: [
    { metric: 'rung_share', rung: 'full', phase: 'steady', stat: 'rate', op: '>=', value: 0.99 },
    { metric: 'http_req_duration', phase: 'spike', stat: 'p(99)', op: '<=', value: 200 },
    { metric: 'errors_5xx_other', stat: 'count', op: '==', value: 0 },
    // The spike browns out: every answer off `full` names its reason (issue 10).
    { metric: 'degraded_unexplained', stat: 'count', op: '==', value: 0 },
    { metric: 'errors_transport', stat: 'count', op: '==', value: 0 },
    { metric: 'achieved_rate_ratio', phase: 'spike', stat: 'rate', op: '>=', value: 0.95 },
    { metric: 'rung_share', rung: 'full', phase: 'recovery', stat: 'rate', op: '>=', value: 0.95 },
    { metric: 'impressions_lost', stat: 'count', op: '==', value: 0 },
    { metric: 'viral_time_to_list_s', stat: 'max', op: '<', value: 60 },
  ],
});
