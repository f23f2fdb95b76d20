import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../core/app.ts';
import { ReclabError } from '../../core/errors.ts';
import { PopularityCache } from '../../core/pipeline/popularity-cache.ts';
import { Breakers, type PipelineConfig } from '../../core/pipeline/recommend.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { ModelSlots, type SwappableModelSet } from '../../core/registry/model-slots.ts';

const clock: Clock = { now: () => performance.now(), setTimer: () => () => {} };
const features: FeatureStore = {
  getUser: async () => undefined,
  getVideos: async (v) => v.map(() => undefined),
  topPopular: async () => [],
};

function set(version: string): SwappableModelSet {
  return {
    modelVersion: version,
    userEncoder: { dim: 2, encode: async () => new Float32Array(2) },
    ranker: {
      modelVersion: version,
      score: async (_f, n) => ({ pClick: new Float32Array(n), watchTimeS: new Float32Array(n) }),
    },
    items: { vectors: new Float32Array(4), dim: 2, count: 2 },
    sources: [],
    editorial: [0, 1],
    release: async () => {},
  };
}

const cfg: PipelineConfig = {
  deadlines: { userMs: 50, encoderMs: 50, retrievalMs: 50, enrichmentMs: 50, rankingMs: 50 },
  retrievalK: {},
  retrievalKDefault: 10,
  candidatesMax: 10,
  mmrLambda: 0.7,
  rerank: {
    clickbaitPenalty: 0,
    freshnessBoost: 0,
    freshnessHalfLifeH: 24,
    creatorCapPerPage: 10,
    explorationShare: 0,
    explorationMaxAgeH: 0,
    explorationMaxLogViews: 0,
  },
  watchedFilterN: 0,
  breaker: { failureThreshold: 5, openMs: 1000 },
  experiments: [{ id: 'e', variants: [{ name: 'control', share: 1 }] }],
  rankingWeights: { like: 0, finish: 0, dislike: 0 },
  cascadeTopN: 0,
};

const TOKEN = 'a-token-of-16-chars-or-more';
const slots = new ModelSlots(set('blue'), {
  load: async (v) => {
    if (v !== 'green') throw new ReclabError('RECLAB_ERR_MODEL_VERSION_UNKNOWN', v);
    return set(v);
  },
  warmUp: async () => {},
});
const app = buildApp(
  {
    clock,
    features,
    sources: [],
    exploration: seededRandom(1).stream('test'),
    popularity: new PopularityCache(features, clock, {
      refreshMs: 1000,
      globalSize: 1,
      regionSize: 1,
      regions: 1,
    }),
    impressions: {
      publish: () => {},
      stats: () => ({ pending: 0, published: 0, dropped: 0 }),
      close: async () => {},
    },
  },
  slots,
  cfg,
  new Breakers(clock, [], cfg.breaker),
  { ready: true, draining: false },
  { logLevel: 'silent', adminToken: TOKEN },
);

beforeAll(() => app.ready());
afterAll(() => app.close());

const auth = { authorization: `Bearer ${TOKEN}` };
const recommendVersion = async () =>
  (
    await app.inject({ method: 'POST', url: '/v1/recommendations', payload: { user_id: 'u_1', count: 2 } })
  ).json().meta.model_version;

describe('admin model routes', () => {
  it('require the admin token when one is configured', async () => {
    const res = await app.inject({ method: 'GET', url: '/admin/models' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('RECLAB_ERR_ADMIN_UNAUTHORIZED');
    const wrong = await app.inject({
      method: 'POST',
      url: '/admin/models/rollback',
      headers: { authorization: 'Bearer x' },
    });
    expect(wrong.statusCode).toBe(401);
  });

  it('activate, rollback and errors by code; requests and /readyz name the active version', async () => {
    expect(await recommendVersion()).toBe('blue');
    const none = await app.inject({ method: 'POST', url: '/admin/models/rollback', headers: auth });
    expect([none.statusCode, none.json().error.code]).toEqual([409, 'RECLAB_ERR_MODEL_NO_PREVIOUS']);
    const unknown = await app.inject({
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: { version: 'nope' },
    });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([
      404,
      'RECLAB_ERR_MODEL_VERSION_UNKNOWN',
    ]);
    const bad = await app.inject({
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: {},
    });
    expect(bad.statusCode).toBe(400);

    const on = await app.inject({
      method: 'POST',
      url: '/admin/models/activate',
      headers: auth,
      payload: { version: 'green' },
    });
    expect(on.statusCode).toBe(200);
    expect(on.json()).toMatchObject({
      active: 'green',
      swap: { kind: 'activate', from: 'blue', to: 'green' },
    });
    expect(await recommendVersion()).toBe('green');
    const ready = (await app.inject({ method: 'GET', url: '/readyz' })).json();
    expect(ready).toMatchObject({ model_version: 'green', model_standby: 'blue' });

    const back = await app.inject({ method: 'POST', url: '/admin/models/rollback', headers: auth });
    expect(back.json()).toMatchObject({
      active: 'blue',
      swap: { kind: 'rollback', from: 'green', to: 'blue' },
    });
    expect(await recommendVersion()).toBe('blue');
    const status = (await app.inject({ method: 'GET', url: '/admin/models', headers: auth })).json();
    expect(status).toMatchObject({
      active: { version: 'blue' },
      standby: { version: 'green' },
      swap_count: 2,
    });
  });
});
