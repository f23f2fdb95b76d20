import { defineScenario } from './define.ts';

/**
 * Redis failure, two ways (seed 000 §6: "Redis feature store down → cached features, default
 * values"; issue 9 item 6):
 *
 * - `data_loss`: Redis loses its data under load — FLUSHALL, SIGKILL, started again empty, nothing
 *   reloaded. `data_lost`, from 10 s after the fault: no response may be `full` (every user record
 *   is gone: a "cold start" for everyone would be a list built on missing data); requests step down
 *   to the popularity cache, which keeps the lists it read before the loss, with the reason
 *   `user_context RECLAB_ERR_FEATURES_MISSING`; never `editorial`, never fewer items than asked.
 * - `outage`: the container is stopped. The core must neither crash nor hang: popularity cache
 *   (or the editorial list), zero 5xx, fast.
 *
 * Every response of every measured phase carries the 30 items it asked for (`short_lists` = 0).
 */
export const redisFailure = defineScenario({
  name: 'redis-failure',
  description:
    'Redis restarted empty, then stopped, mid-run; the core degrades to popularity (never `full` on missing data), 30 items per response, zero 5xx',
  world: { users: 20_000, videos: 10_000 },
  phases: [
    { name: 'warmup', arrivals: { kind: 'constant', rateQps: 50 }, durationS: 5, warmup: true },
    { name: 'steady', arrivals: { kind: 'constant', rateQps: 100 }, durationS: 10 },
    {
      name: 'data_loss',
      arrivals: { kind: 'constant', rateQps: 100 },
      durationS: 10,
      faults: [{ target: 'redis', kind: 'restart_empty' }],
    },
    { name: 'data_lost', arrivals: { kind: 'constant', rateQps: 100 }, durationS: 15 },
    {
      name: 'outage',
      arrivals: { kind: 'constant', rateQps: 100 },
      durationS: 15,
      faults: [{ target: 'redis', kind: 'down' }],
    },
  ],
  assertions: [
    { metric: 'errors_5xx', stat: 'count', op: '==', value: 0 },
    { metric: 'errors_transport', stat: 'count', op: '==', value: 0 },
    { metric: 'short_lists', stat: 'count', op: '==', value: 0 },
    { metric: 'rung_share', rung: 'full', phase: 'steady', stat: 'rate', op: '>=', value: 0.95 },
    { metric: 'rung_share', rung: 'full', phase: 'data_lost', stat: 'rate', op: '==', value: 0 },
    { metric: 'rung_share', rung: 'popularity', phase: 'data_lost', stat: 'rate', op: '>=', value: 0.99 },
    { metric: 'rung_share', rung: 'editorial', phase: 'data_lost', stat: 'rate', op: '==', value: 0 },
    {
      metric: 'reason_share',
      reason: 'user_context RECLAB_ERR_FEATURES_MISSING',
      phase: 'data_lost',
      stat: 'rate',
      op: '>=',
      value: 0.9,
    },
    { metric: 'http_req_duration', phase: 'data_lost', stat: 'p(99)', op: '<=', value: 200 },
    { metric: 'http_req_duration', phase: 'outage', stat: 'p(99)', op: '<=', value: 200 },
    { metric: 'achieved_rate_ratio', phase: 'outage', stat: 'rate', op: '>=', value: 0.95 },
    { metric: 'rung_share', rung: 'full', phase: 'outage', stat: 'rate', op: '<=', value: 0.05 },
    { metric: 'impressions_lost', stat: 'count', op: '==', value: 0 },
  ],
});
