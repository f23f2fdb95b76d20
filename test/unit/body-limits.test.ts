/**
 * Per-route body limits (issue 9, item 3a): each derived from the route's own schema, so a maximal
 * valid body is accepted and one byte more is refused with 413 RECLAB_ERR_BODY_TOO_LARGE; and
 * docs/errors.md states the same numbers.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { BODY_LIMITS } from '../../core/app.ts';
import { MAX_VIDEO_INDEX } from '../../core/features/ids.ts';
import { maxJsonBytes } from '../../core/http/body-limits.ts';
import { DEFAULT_MAX_EVENTS_PER_BATCH } from '../../core/streaming/events.ts';
import { buildTestApp } from '../helpers/test-app.ts';

const { app, published } = await buildTestApp({ admin: 'open' });
afterAll(() => app.close());

/** A valid event as large as the schema allows: every string at its length in 6-byte escapes. */
const maximalEvent = (i: number) => ({
  event_id: `${'\u0001'.repeat(124)}${String(i).padStart(4, '0')}`,
  type: 'impression',
  user_id: '\u0001'.repeat(128),
  video_id: `v_${MAX_VIDEO_INDEX}`,
  region: 'south_asia',
  watch_time_s: 2.2250738585072014e-300, // 23 characters in JSON, the longest a non-negative double takes
  timestamp_ms: Number.MAX_SAFE_INTEGER,
});

/** `json` padded with spaces (valid JSON whitespace) to exactly `bytes` bytes. */
function padTo(json: string, bytes: number): string {
  const n = bytes - Buffer.byteLength(json);
  expect(n).toBeGreaterThanOrEqual(0);
  return `${json}${' '.repeat(n)}`;
}

const post = (url: string, payload: string) =>
  app.inject({ method: 'POST', url, headers: { 'content-type': 'application/json' }, payload });

describe('POST /v1/events body limit', () => {
  it('is 500 events × the largest valid event, in compact JSON', () => {
    const one = Buffer.byteLength(JSON.stringify(maximalEvent(0)));
    const perEvent =
      (BODY_LIMITS.events - 2 - (DEFAULT_MAX_EVENTS_PER_BATCH - 1)) / DEFAULT_MAX_EVENTS_PER_BATCH;
    expect(Number.isInteger(perEvent)).toBe(true);
    expect(one).toBeLessThanOrEqual(perEvent);
    // The lab's batches of 200 (about 29 KB) were refused by the old 16 KiB limit.
    expect(BODY_LIMITS.events).toBeGreaterThan(200 * 1024);
  });

  it('accepts a maximal valid batch of exactly the limit, and refuses one byte more with 413', async () => {
    const batch = Array.from({ length: DEFAULT_MAX_EVENTS_PER_BATCH }, (_, i) => maximalEvent(i));
    const body = padTo(JSON.stringify(batch), BODY_LIMITS.events);
    const ok = await post('/v1/events', body);
    expect([ok.statusCode, ok.json()]).toEqual([202, { accepted: DEFAULT_MAX_EVENTS_PER_BATCH }]);
    expect(published.at(-1)?.length).toBe(DEFAULT_MAX_EVENTS_PER_BATCH);

    const over = await post('/v1/events', `${body} `);
    expect(over.statusCode).toBe(413);
    expect(over.json().code).toBe('RECLAB_ERR_BODY_TOO_LARGE');
  });

  it('refuses one event over the count with 400 RECLAB_ERR_EVENT_INVALID', async () => {
    const small = (i: number) => ({
      event_id: `e${i}`,
      type: 'click',
      user_id: 'u_1',
      video_id: 'v_1',
      timestamp_ms: 1,
    });
    const res = await post(
      '/v1/events',
      JSON.stringify(Array.from({ length: DEFAULT_MAX_EVENTS_PER_BATCH + 1 }, (_, i) => small(i))),
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('RECLAB_ERR_EVENT_INVALID');
  });
});

describe('POST /v1/recommendations body limit', () => {
  it('accepts a maximal valid request of exactly the limit, and refuses one byte more', async () => {
    const body = JSON.stringify({
      user_id: 'u'.repeat(64),
      count: 100,
      context: { region: 'south_asia', device: 'desktop', time: '2024-01-01T00:00:00.000Z' },
    });
    const ok = await post('/v1/recommendations', padTo(body, BODY_LIMITS.recommendations));
    expect(ok.statusCode).toBe(200);
    const over = await post('/v1/recommendations', padTo(body, BODY_LIMITS.recommendations + 1));
    expect([over.statusCode, over.json().code]).toEqual([413, 'RECLAB_ERR_BODY_TOO_LARGE']);
  });
});

describe('maxJsonBytes', () => {
  it('bounds strings by their longest escape, integers by their bounds, and refuses unbounded parts', () => {
    expect(maxJsonBytes({ type: 'string', maxLength: 3 })).toBe(2 + 18);
    expect(maxJsonBytes({ type: 'integer', minimum: 1, maximum: 100 })).toBe(3);
    expect(maxJsonBytes({ enum: ['a', 'bcd'] })).toBe(5);
    expect(
      maxJsonBytes({ type: 'object', additionalProperties: false, properties: { a: { type: 'boolean' } } }),
    ).toBe('{"a":false}'.length);
    expect(maxJsonBytes({ type: 'array', maxItems: 2, items: { enum: [1] } })).toBe('[1,1]'.length);
    expect(() => maxJsonBytes({ type: 'string' })).toThrow(/\$: string without maxLength/);
    expect(() => maxJsonBytes({ type: 'array', items: { type: 'null' } })).toThrow(/maxItems/);
    expect(() => maxJsonBytes({ type: 'object', properties: {} })).toThrow(/other properties/);
  });
});

describe('documented body limits', () => {
  it('states the limit of every route as the code computes it', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const stated = (route: string) => {
      const row = doc.split('\n').find((l) => l.startsWith(`| ${route} |`));
      return Number(row?.split('|')[2].trim().replace(/,/g, ''));
    };
    expect(stated('`POST /v1/recommendations`')).toBe(BODY_LIMITS.recommendations);
    expect(stated('`POST /v1/videos/fresh`')).toBe(BODY_LIMITS.freshVideos);
    expect(stated('`POST /v1/events`')).toBe(BODY_LIMITS.events);
    expect(stated('`POST /admin/models/activate`')).toBe(BODY_LIMITS.activate);
    expect(stated('`PUT /admin/faults/:target`')).toBe(BODY_LIMITS.faults);
    expect(stated('every other route (no body)')).toBe(BODY_LIMITS.noBody);
  });

  it('docs/streaming.md states the events limit', () => {
    const doc = readFileSync(new URL('../../docs/streaming.md', import.meta.url), 'utf8');
    expect(doc).toContain(`up to ${BODY_LIMITS.events.toLocaleString('en-US')} bytes`);
  });
});
