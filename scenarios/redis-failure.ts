import { defineScenario } from './define.ts';

/**
 * Redis failure: the feature store's container is stopped mid-run. The core must neither crash nor
 * hang: requests step down to the popularity cache (or the editorial list) with zero 5xx, fast
 * (seed 000 §6: "Redis feature store down → cached features, default values").
 */
export const redisFailure = defineScenario({
  name: 'redis-failure',
  description:
    'Redis stopped mid-run; the core degrades to popularity/editorial with zero 5xx and bounded latency',
  world: { users: 20_000, videos: 10_000 },
  phases: [
    { name: 'warmup', rateQps: 50, durationS: 5, warmup: true },
    { name: 'steady', rateQps: 100, durationS: 10 },
    { name: 'outage', rateQps: 100, durationS: 15, faults: [{ target: 'redis', action: 'stop', atS: 0 }] },
  ],
  assertions: [
    { metric: 'errors_5xx', stat: 'count', op: '==', value: 0 },
    { metric: 'errors_transport', stat: 'count', op: '==', value: 0 },
    { metric: 'http_req_duration', phase: 'outage', stat: 'p(99)', op: '<=', value: 200 },
    { metric: 'achieved_rate_ratio', phase: 'outage', stat: 'rate', op: '>=', value: 0.95 },
    { metric: 'rung_share', rung: 'full', phase: 'outage', stat: 'rate', op: '<=', value: 0.05 },
    { metric: 'impressions_lost', stat: 'count', op: '==', value: 0 },
  ],
});
