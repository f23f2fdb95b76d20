import { defineScenario } from './define.ts';

/**
 * GPU slow (gpu-outage's second variant, issue 12: "the tier is slow (p99 × 10), not dead"): the
 * main ranker runs as its own tier process, the stand-in for seed 000's GPU pool, and for one phase
 * every reply of it takes 10 × its own time (the lab's proxy in front of the tier holds each reply:
 * loadtest/faults/ranker-fault-proxy.ts, a throttled or overloaded GPU). Nothing fails outright:
 * calls that miss the ranking deadline (50 ms) step down to the light ranker in process (rung
 * `light_ranker`, reason `ranking RECLAB_ERR_RANKER_TIMEOUT`); were most calls late, the ranker's
 * breaker would open on its slow-call rate and the light ranker answer at once. Measured here
 * (docs/scenarios.md) a tier call takes a few ms, so × 10 mostly still fits the deadline: the
 * cost is latency (p50 12 → 21 ms) and 5% `light_ranker`, not a switch of rung. The core must
 * keep p99 within the budget, serve zero 5xx, pay a bounded quality cost, and be back to the
 * steady phase's p99 and rung mix within 10 s of the tier's recovery.
 *
 * A separate scenario rather than a phase of gpu-outage: each asserts its own fault against its
 * own steady phase and recovery, and CI can gate on either.
 */
export const gpuSlow = defineScenario({
  name: 'gpu-slow',
  description:
    'Ranker tier 10× slower (each reply held to 10 × its time) for 15 s; the core steps down to the light ranker with zero 5xx, bounded p99 and quality cost, and recovers within 10 s',
  world: { users: 20_000, videos: 10_000 },
  rankerTier: true,
  core: { breaker: { openMs: 2000 } },
  phases: [
    { name: 'warmup', arrivals: { kind: 'constant', rateQps: 50 }, durationS: 5, warmup: true },
    { name: 'steady', arrivals: { kind: 'constant', rateQps: 100 }, durationS: 10 },
    {
      name: 'slow',
      arrivals: { kind: 'constant', rateQps: 100 },
      durationS: 15,
      faults: [{ target: 'ranker_tier', kind: 'slow', slowFactor: 10 }],
    },
    { name: 'recovery', arrivals: { kind: 'constant', rateQps: 100 }, durationS: 15 },
  ],
  assertions: [
    { metric: 'errors_5xx', stat: 'count', op: '==', value: 0 },
    { metric: 'errors_transport', stat: 'count', op: '==', value: 0 },
    // 0.95, not 0.99: the first live run on the shared 2-core machine measured 0.968 (brownout
    // under CPU contention, `ranking RECLAB_ERR_OVERLOADED`), docs/scenarios.md.
    { metric: 'rung_share', rung: 'full', phase: 'steady', stat: 'rate', op: '>=', value: 0.95 },
    // A slow tier costs a rung, never more: calls past the deadline get the light ranker, nothing
    // falls to the popularity cache.
    { metric: 'rung_share', rung: 'popularity', phase: 'slow', stat: 'rate', op: '<=', value: 0.01 },
    { metric: 'http_req_duration', phase: 'slow', stat: 'p(99)', op: '<=', value: 200 },
    { metric: 'achieved_rate_ratio', phase: 'slow', stat: 'rate', op: '>=', value: 0.95 },
    {
      metric: 'quality.expected_watch_time',
      phase: 'slow',
      stat: 'ratio_to',
      baseline: 'steady',
      op: '>=',
      value: 0.8,
    },
    { metric: 'recovery_time_s', phase: 'slow', baseline: 'steady', op: '<', value: 10 },
    { metric: 'impressions_lost', stat: 'count', op: '==', value: 0 },
  ],
});
