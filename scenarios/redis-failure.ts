import { defineScenario } from './define.ts';

/**
 * Redis failure (the product brief's fourth scenario; seed 000 §6: "Redis feature store down →
 * cached features, default values"; issue 12, issue 9 item 6): four faults in sequence, each
 * followed by a calm phase, all at 100 requests/s.
 *
 * 1. `stop`: Redis saves its data and its container is stopped (connections refused), started
 *    again with the data at the phase's end (loadtest/faults/redis-stop.ts).
 * 2. `hang`: the container is paused (connections accepted, nothing answered), unpaused at the end.
 * 3. `slow`: every Redis round trip 200 ms late (Toxiproxy latency: `reclab run` puts Redis behind
 *    a Toxiproxy for this scenario, docs/faults.md).
 * 4. `data_loss`: FLUSHALL, SIGKILL, started empty, nothing reloaded (`data_lost` then checks that
 *    no list is built on missing data).
 *
 * What the ladder does (docs/fallback.md): in each of the first three the user read fails or
 * misses its 10 ms deadline before anything else is read, so requests step down to `popularity`
 * (the in-process cache, which keeps its last good lists while the store fails), never to
 * `editorial` (the cache is never empty once filled) and hardly ever to `default_features` (only a
 * request whose user read finished just before the fault and whose enrichment read failed after
 * it). After each fault the core must be back to the steady phase's p99 and rung mix within 10 s
 * (`recovery_time_s`), with zero 5xx and every page full throughout.
 */
const RATE = { kind: 'constant', rateQps: 100 } as const;

export const redisFailure = defineScenario({
  name: 'redis-failure',
  description:
    'Redis stopped, hung, slowed by 200 ms, then restarted empty, each for 10 s under load; the core serves from its popularity cache with zero 5xx and recovers within 10 s of each fault',
  world: { users: 20_000, videos: 10_000 },
  // A broken dependency is tried again after 2 s (default 5 s): recovery within 10 s is the budget.
  core: { breaker: { openMs: 2000 } },
  phases: [
    // Warmed up at the measured rate: `steady` is the baseline every recovery time is judged
    // against, and a core that only saw half the rate browns out in its first seconds (JIT, caches).
    { name: 'warmup', arrivals: RATE, durationS: 10, warmup: true },
    { name: 'steady', arrivals: RATE, durationS: 10 },
    { name: 'stop', arrivals: RATE, durationS: 10, faults: [{ target: 'redis', kind: 'down' }] },
    { name: 'after_stop', arrivals: RATE, durationS: 10 },
    { name: 'hang', arrivals: RATE, durationS: 10, faults: [{ target: 'redis', kind: 'hang' }] },
    { name: 'after_hang', arrivals: RATE, durationS: 10 },
    {
      name: 'slow',
      arrivals: RATE,
      durationS: 10,
      faults: [{ target: 'redis', kind: 'latency', latencyMs: 200, jitterMs: 0 }],
    },
    { name: 'after_slow', arrivals: RATE, durationS: 10 },
    {
      name: 'data_loss',
      arrivals: RATE,
      durationS: 5,
      faults: [{ target: 'redis', kind: 'restart_empty' }],
    },
    { name: 'data_lost', arrivals: RATE, durationS: 10 },
  ],
  assertions: [
    { metric: 'errors_5xx', stat: 'count', op: '==', value: 0 },
    { metric: 'errors_transport', stat: 'count', op: '==', value: 0 },
    { metric: 'short_lists', stat: 'count', op: '==', value: 0 },
    { metric: 'rung_share', rung: 'full', phase: 'steady', stat: 'rate', op: '>=', value: 0.95 },
    // Each of stop, hang, slow: the popularity cache answers, the editorial list is never needed,
    // the latency stays within budget, and the service is back to normal within 10 s.
    ...(['stop', 'hang', 'slow'] as const).flatMap((phase) => [
      { metric: 'rung_share', rung: 'popularity', phase, stat: 'rate', op: '>=', value: 0.8 } as const,
      { metric: 'rung_share', rung: 'editorial', phase, stat: 'rate', op: '==', value: 0 } as const,
      { metric: 'http_req_duration', phase, stat: 'p(99)', op: '<=', value: 200 } as const,
      { metric: 'achieved_rate_ratio', phase, stat: 'rate', op: '>=', value: 0.95 } as const,
      { metric: 'recovery_time_s', phase, baseline: 'steady', op: '<', value: 10 } as const,
    ]),
    // The data loss: no list built on missing data, the popularity cache's kept lists instead.
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
    { metric: 'impressions_lost', stat: 'count', op: '==', value: 0 },
  ],
});
