/**
 * POST /v1/events' side of the retry contract (docs/streaming.md, "Retry contract"), through the
 * core's HTTP app (`app.inject`) with an in-memory event log standing in for Kafka: 202 once the log
 * has the events; 503 with the log's code and a `Retry-After` header when it refuses them; 400 for
 * a bad batch. And the drain: while the core stops, every reply carries `Connection: close`.
 * (The Kafka event log itself runs against a real broker in test/integration/event-spool.test.ts.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { RetryableError } from '../../core/errors.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type { EventLogStats } from '../../core/ports/event-log.ts';
import { type StreamEvent, streamEventSchema } from '../../core/streaming/events.ts';
import { fixtureCore } from '../helpers/core-fixtures.ts';

const clock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};
const stats: EventLogStats = {
  pending: 0,
  published: 0,
  refused: 0,
  dropped: 0,
  buffered: 0,
  spooled: 0,
  spoolPending: 0,
  spoolBytes: 0,
  replayed: 0,
};

/** What the stand-in log does with the next call: take the events, or refuse them. */
let refuse: RetryableError | undefined;
const taken: StreamEvent[] = [];
const core = await fixtureCore({
  clock,
  experiments: [{ id: 'exp', variants: [{ name: 'a', share: 1 }] }],
  events: {
    publish: async (events) => {
      if (refuse) throw refuse;
      taken.push(...events);
    },
    stats: () => stats,
  },
});
const { lifecycle } = core;
const app = buildApp(core, { logLevel: 'silent' });
afterAll(() => app.close());

const event = (i: number): StreamEvent => ({
  event_id: `ev_${i}`,
  type: 'watch',
  user_id: 'u_1',
  video_id: `v_${i}`,
  timestamp_ms: 1_700_000_000_000,
});
const post = (body: unknown) => app.inject({ method: 'POST', url: '/v1/events', payload: body as object });

describe('POST /v1/events', () => {
  it('answers 202 once the log has taken the events', async () => {
    const res = await post([event(1), event(2)]);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: 2 });
    expect(taken.map((e) => e.event_id)).toEqual(['ev_1', 'ev_2']);
  });

  it('answers 503 RECLAB_ERR_EVENTS_BACKLOG_FULL with Retry-After when the backlog is full', async () => {
    refuse = new RetryableError('RECLAB_ERR_EVENTS_BACKLOG_FULL', 1.2, '10000 events wait in memory');
    const res = await post([event(3)]);
    refuse = undefined;
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('2'); // whole seconds, rounded up
    expect(res.json().code).toBe('RECLAB_ERR_EVENTS_BACKLOG_FULL');
  });

  it('answers 503 RECLAB_ERR_EVENTS_UNAVAILABLE with Retry-After when the log is closed', async () => {
    refuse = new RetryableError('RECLAB_ERR_EVENTS_UNAVAILABLE', 0.2, 'the event log is closed');
    const res = await post([event(4)]);
    refuse = undefined;
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json().code).toBe('RECLAB_ERR_EVENTS_UNAVAILABLE');
  });

  it('answers 400 RECLAB_ERR_EVENT_INVALID without Retry-After for a bad batch', async () => {
    const res = await post([{ ...event(5), video_id: 'five' }]);
    expect(res.statusCode).toBe(400);
    expect(res.headers['retry-after']).toBeUndefined();
    expect(res.json().code).toBe('RECLAB_ERR_EVENT_INVALID');
  });

  it('drops fields it does not know (forward compatibility), and refuses a video id past the catalogue', async () => {
    const sent = { ...event(8), region: 'eu', client_version: '9.1' };
    const res = await post([sent]);
    expect(res.statusCode).toBe(202);
    // What goes to Kafka: the same bytes as the zod schema's parse (the consumer's), unknown field gone.
    expect(JSON.stringify(taken.at(-1))).toBe(JSON.stringify(streamEventSchema.parse(sent)));
    expect(taken.at(-1)).not.toHaveProperty('client_version');
    // The pattern admits it; the handler's check (index ≤ 2^31 - 1) does not.
    const over = await post([{ ...event(9), video_id: 'v_2147483648' }]);
    expect([over.statusCode, over.headers['content-type'], over.json().code]).toEqual([
      400,
      'application/problem+json; charset=utf-8',
      'RECLAB_ERR_EVENT_INVALID',
    ]);
  });

  it('shows the event log in /readyz', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.json().events).toEqual(stats);
  });
});

describe('draining', () => {
  it('keeps connections open while serving, and closes each one with its reply while draining', async () => {
    const before = await post([event(6)]);
    expect(before.headers.connection).not.toBe('close');
    lifecycle.draining = true;
    const recs = await app.inject({
      method: 'POST',
      url: '/v1/recommendations',
      payload: { user_id: 'u_1' },
    });
    const events = await post([event(7)]);
    lifecycle.draining = false;
    expect(recs.statusCode).toBe(503);
    expect(recs.json().code).toBe('RECLAB_ERR_NOT_READY');
    expect(recs.headers.connection).toBe('close');
    expect(events.statusCode).toBe(202); // taken events are still accepted while the stop drains
    expect(events.headers.connection).toBe('close');
  });
});
