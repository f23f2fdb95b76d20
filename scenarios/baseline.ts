import { defineScenario } from './define.ts';

/**
 * Baseline: a healthy system at a steady open-model arrival rate. Budgets from seed 000 §3
 * (end-to-end p99 < 200 ms) and the live-runner rules (zero 5xx, achieved ≥ 95% of offered, every
 * 200 response's impression on the Kafka topic).
 */
export const baseline = defineScenario({
  name: 'baseline',
  description: 'Healthy system, constant arrival rate; p99, errors, achieved rate and impressions checked',
  world: { users: 20_000, videos: 10_000 },
  phases: [
    { name: 'warmup', arrivals: { kind: 'constant', rateQps: 50 }, durationS: 5, warmup: true },
    { name: 'steady', arrivals: { kind: 'constant', rateQps: 100 }, durationS: 30 },
  ],
  assertions: [
    { metric: 'http_req_duration', phase: 'steady', stat: 'p(99)', op: '<=', value: 200 },
    { metric: 'errors_5xx', stat: 'count', op: '==', value: 0 },
    { metric: 'errors_transport', stat: 'count', op: '==', value: 0 },
    { metric: 'achieved_rate_ratio', phase: 'steady', stat: 'rate', op: '>=', value: 0.95 },
    { metric: 'rung_share', rung: 'full', phase: 'steady', stat: 'rate', op: '>=', value: 0.99 },
    // Every answer off `full` names its reason (issue 10: a brownout is a rung with a reason).
    { metric: 'degraded_unexplained', stat: 'count', op: '==', value: 0 },
    { metric: 'impressions_lost', stat: 'count', op: '==', value: 0 },
  ],
});
