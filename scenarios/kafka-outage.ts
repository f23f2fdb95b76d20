import { defineScenario } from './define.ts';

/**
 * Kafka outage: the broker is stopped for 20 s under load, then started again. Responses must not
 * suffer (impressions are logged off the critical path, seed 000 §1 step 9), and every impression
 * must reach the topic once Kafka is back: the core spools them to disk meanwhile (issue 5). The
 * simulated users' events too: every event the core accepted (202) is on the events topic after
 * the run, counted by a real consumer (issue 9 item 3b), and the core stops with exit code 0.
 */
export const kafkaOutage = defineScenario({
  name: 'kafka-outage',
  description:
    'Kafka stopped for 20 s under load, then restarted; no 5xx, no latency hit, no impression or event lost',
  world: { users: 20_000, videos: 10_000 },
  phases: [
    { name: 'warmup', arrivals: { kind: 'constant', rateQps: 50 }, durationS: 5, warmup: true },
    { name: 'steady', arrivals: { kind: 'constant', rateQps: 100 }, durationS: 10 },
    {
      name: 'outage',
      arrivals: { kind: 'constant', rateQps: 100 },
      durationS: 20,
      faults: [{ target: 'kafka', kind: 'down' }],
    },
    { name: 'recovery', arrivals: { kind: 'constant', rateQps: 100 }, durationS: 15 },
  ],
  assertions: [
    { metric: 'errors_5xx', stat: 'count', op: '==', value: 0 },
    { metric: 'errors_transport', stat: 'count', op: '==', value: 0 },
    { metric: 'http_req_duration', phase: 'outage', stat: 'p(99)', op: '<=', value: 200 },
    { metric: 'rung_share', rung: 'full', phase: 'outage', stat: 'rate', op: '>=', value: 0.99 },
    { metric: 'impressions_lost', stat: 'count', op: '==', value: 0 },
    { metric: 'events_lost', stat: 'count', op: '==', value: 0 },
  ],
});
