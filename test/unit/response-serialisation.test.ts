/**
 * The recommendation route's response schema changes nothing clients receive (issue 16). The route
 * answers through JSON.stringify (cheaper in the core under load: docs/performance.md); the schema's
 * serializer (fast-json-stringify from `recommendationResponse`, which drops what the schema does
 * not name and writes properties in the schema's order) must give the same bytes, so the schema
 * describes the page whole. Checked for a page served through the app against the same page served
 * without HTTP, and for any page the pipeline could build (fast-check, fixed seed).
 */
import fc from 'fast-check';
import Fastify from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { ERRORS } from '../../core/errors.ts';
import { recommendationResponse } from '../../core/http/route-schemas.ts';
import type { RecommendResult } from '../../core/pipeline/recommend.ts';
import { RUNGS } from '../../core/resilience/fallback-ladder.ts';
import { serveRecommendation } from '../../core/serve.ts';
import { fixtureCore } from '../helpers/core-fixtures.ts';
import { manualClock } from '../helpers/manual-clock.ts';

describe('POST /v1/recommendations response bytes', () => {
  it('equal JSON.stringify of the same page served without HTTP', async () => {
    // Two cores alike (manual clock: timings 0; impression ids from the same seed).
    const experiments = [{ id: 'exp', variants: [{ name: 'a', share: 1 }] }];
    const viaHttp = await fixtureCore({ clock: manualClock().clock, experiments });
    const direct = await fixtureCore({ clock: manualClock().clock, experiments });
    const app = buildApp(viaHttp, { logLevel: 'silent' });
    for (const userId of ['u_1', 'u_2', 'u_3']) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/recommendations',
        payload: { user_id: userId },
      });
      const page = await serveRecommendation(direct, {
        userId,
        count: 30,
        regionIdx: undefined,
        deviceIdx: undefined,
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe(JSON.stringify(page.body));
    }
    await app.close();
  });

  const serializer = Fastify();
  let current: RecommendResult | undefined;
  serializer.get('/', { schema: { response: { 200: recommendationResponse } } }, async () => current);
  afterAll(() => serializer.close());

  const text = fc.string({ unit: 'grapheme', maxLength: 12 });
  const layer = fc.record({ id: text, variant: text });
  const page: fc.Arbitrary<RecommendResult> = fc.record({
    items: fc.array(
      fc.record(
        {
          video_id: fc.nat().map((n) => `v_${n}`),
          score: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()),
          source: text,
          exploration: fc.constant(true as const),
        },
        { requiredKeys: ['video_id', 'score', 'source'] },
      ),
      { maxLength: 40 },
    ),
    meta: fc.record({
      impression_id: text,
      rung: fc.constantFrom(...RUNGS),
      reasons: fc.array(
        fc.record({
          stage: text,
          code: fc.constantFrom(...(Object.keys(ERRORS) as (keyof typeof ERRORS)[])),
        }),
        { maxLength: 4 },
      ),
      timings_ms: fc.dictionary(text, fc.double({ min: 0, max: 1e6, noNaN: true })),
      model_version: text,
      experiment: layer,
      experiments: fc.array(layer, { maxLength: 3 }),
      candidates: fc.record({ retrieved: fc.nat(), ranked: fc.nat() }),
    }),
  });

  it('equal JSON.stringify for any page the pipeline could build', async () => {
    await fc.assert(
      fc.asyncProperty(page, async (p) => {
        current = p;
        const res = await serializer.inject({ method: 'GET', url: '/' });
        expect(res.body).toBe(JSON.stringify(p));
      }),
      { seed: 16, numRuns: 300 },
    );
  });
});
