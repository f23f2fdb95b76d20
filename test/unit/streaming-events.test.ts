/**
 * The event parser of the streaming path (core/streaming/events.ts): good events pass with unknown
 * fields dropped; every kind of bad event is rejected with code RECLAB_ERR_EVENT_INVALID and a
 * detail naming the field; batches are all-or-nothing and bounded. Also the window arithmetic
 * (core/streaming/windows.ts) the consumer and the reader share.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeEvent,
  EVENT_INVALID_CODE,
  parseEvent,
  parseEventBatch,
  regionIndexOf,
} from '../../core/streaming/events.ts';
import { epochMinute, MINUTE_MS, slidingCounts, trendingWeights } from '../../core/streaming/windows.ts';

const good = {
  event_id: 'e-1',
  type: 'watch',
  user_id: 'u_1',
  video_id: 'v_42',
  region: 'eu',
  watch_time_s: 12.5,
  timestamp_ms: 1_700_000_000_000,
};

describe('parseEvent', () => {
  it('accepts a valid event and drops unknown fields', () => {
    const r = parseEvent({ ...good, extra: 'x' });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.event).toEqual(good);
      expect('extra' in r.event).toBe(false);
      expect(regionIndexOf(r.event.region)).toBe(2);
    }
    const minimal = parseEvent({
      event_id: 'e',
      type: 'click',
      user_id: 'u',
      video_id: 'v_0',
      timestamp_ms: 1,
    });
    expect(minimal.ok).toBe(true);
  });

  it.each([
    ['not an object', 'hello', '(event)'],
    ['missing event_id', { ...good, event_id: undefined }, 'event_id'],
    ['empty event_id', { ...good, event_id: '' }, 'event_id'],
    ['unknown type', { ...good, type: 'share' }, 'type'],
    ['bad video id', { ...good, video_id: '42' }, 'video_id'],
    ['negative video index', { ...good, video_id: 'v_-1' }, 'video_id'],
    ['unknown region', { ...good, region: 'mars' }, 'region'],
    ['negative watch time', { ...good, watch_time_s: -1 }, 'watch_time_s'],
    ['fractional timestamp', { ...good, timestamp_ms: 1.5 }, 'timestamp_ms'],
    ['string timestamp', { ...good, timestamp_ms: '1700000000000' }, 'timestamp_ms'],
  ])('rejects %s with RECLAB_ERR_EVENT_INVALID', (_name, input, field) => {
    const r = parseEvent(input);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe('RECLAB_ERR_EVENT_INVALID');
      expect(r.code).toBe(EVENT_INVALID_CODE);
      expect(r.detail).toContain(field);
    }
  });
});

describe('parseEventBatch / decodeEvent', () => {
  it('is all-or-nothing and names the first bad index', () => {
    const ok = parseEventBatch([good, { ...good, event_id: 'e-2' }]);
    expect(ok.ok && ok.events.length).toBe(2);
    const bad = parseEventBatch([good, { ...good, type: 'nope' }]);
    expect(bad).toMatchObject({ ok: false, code: EVENT_INVALID_CODE, index: 1 });
  });

  it('bounds the batch and requires an array', () => {
    expect(parseEventBatch([])).toMatchObject({ ok: false, index: -1 });
    expect(parseEventBatch({ events: [good] })).toMatchObject({ ok: false, index: -1 });
    expect(parseEventBatch([good, good, good], 2)).toMatchObject({ ok: false, index: -1 });
  });

  it('decodes Kafka values: JSON only', () => {
    expect(decodeEvent(Buffer.from(JSON.stringify(good))).ok).toBe(true);
    expect(decodeEvent(Buffer.from('{nope'))).toMatchObject({ ok: false, code: EVENT_INVALID_CODE });
    expect(decodeEvent(null)).toMatchObject({ ok: false, code: EVENT_INVALID_CODE });
  });
});

describe('windows', () => {
  it('sliding counts weight the trailing bucket by the part still inside', () => {
    const now = 1_000 * MINUTE_MS + 15_000; // 15 s into minute 1000
    const cur = epochMinute(now);
    const buckets = new Map([
      [cur, 10],
      [cur - 1, 8], // 45 s of it inside the last minute → 6
      [cur - 59, 5],
      [cur - 60, 4], // 3/4 inside the hour → 3
      [cur - 61, 100], // outside both windows
    ]);
    expect(slidingCounts(buckets, now)).toEqual({ m1: 16, h1: 10 + 8 + 5 + 3 });
    expect(slidingCounts(new Map(), now)).toEqual({ m1: 0, h1: 0 });
  });

  it('trending weights halve every half-life and sum to 1', () => {
    const w = trendingWeights(10, 3);
    expect(w).toHaveLength(10);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(w[3] / w[0]).toBeCloseTo(0.5, 12);
  });
});
