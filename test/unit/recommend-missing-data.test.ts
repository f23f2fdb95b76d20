/**
 * The pipeline's rules for missing data (issue 9 item 6; docs/fallback.md): a missing record is a
 * degradation with a rung and a reason, never a record of zeros ranked as if it were real; a new
 * user (no record, the store's load marker present) is a cold start on `full`; a store without its
 * marker lost its data; and no page is shorter than `count` while a lower rung can fill it.
 *
 * In-memory ports driven by the manual clock: what is tested is the pipeline's decisions. The same
 * rules on real Redis, FLUSHALL included: test/integration/redis-data-loss.test.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { USER_RECORD_LEN, VIDEO_RECORD, VIDEO_RECORD_LEN } from '../../core/features/schema.ts';
import { PopularityCache } from '../../core/pipeline/popularity-cache.ts';
import {
  Breakers,
  type ModelSet,
  type PipelineDeps,
  type RecommendResult,
  recommend,
} from '../../core/pipeline/recommend.ts';
import type { CandidateSource } from '../../core/ports/candidate-source.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import { pipelineConfig, TEST_BREAKER } from '../helpers/core-fixtures.ts';
import { manualClock } from '../helpers/manual-clock.ts';

const CATALOGUE = 200;
const DIM = 4;
const COUNT = 10;

/** A feature store the test edits: users and videos it knows, its popular sets, its marker. */
class MemoryStore implements FeatureStore {
  users = new Map<string, Float32Array>([['u_1', userRecord()]]);
  /** Videos without a record. */
  missingVideos = new Set<number>();
  videosFail = false;
  marker: string | undefined = 'world-1';
  popular: number[] = Array.from({ length: 50 }, (_, i) => 100 + i);
  async getUser(id: string): Promise<Float32Array | undefined> {
    return this.users.get(id);
  }
  async getVideos(videos: readonly number[]): Promise<(Float32Array | undefined)[]> {
    if (this.videosFail) throw new Error('store down');
    return videos.map((v) => (this.missingVideos.has(v) ? undefined : videoRecord(v)));
  }
  async topPopular(_r: number | undefined, n: number): Promise<{ video: number; score: number }[]> {
    return this.popular.slice(0, n).map((video, i) => ({ video, score: 1000 - i }));
  }
  async loadMarker(): Promise<string | undefined> {
    return this.marker;
  }
}

function userRecord(): Float32Array {
  const r = new Float32Array(USER_RECORD_LEN);
  r[3] = 10; // watch count
  return r;
}

/** Video v: its own creator (so creator caps never bind), uploaded a day before t = 0. */
function videoRecord(v: number): Float32Array {
  const r = new Float32Array(VIDEO_RECORD_LEN);
  r[VIDEO_RECORD.creator] = v;
  r[VIDEO_RECORD.category] = v % 16;
  r[VIDEO_RECORD.durationS] = 300;
  r[VIDEO_RECORD.uploadTsS] = -86_400;
  r[VIDEO_RECORD.logViews] = 8;
  return r;
}

let store: MemoryStore;
let rankerCalls: number;
let retrieved: number[];
let deps: PipelineDeps;
let models: ModelSet;
let breakers: Breakers;
let advance: (ms: number) => void;

beforeEach(async () => {
  const mc = manualClock();
  const { clock } = mc;
  advance = mc.advance;
  store = new MemoryStore();
  rankerCalls = 0;
  retrieved = Array.from({ length: 40 }, (_, i) => i); // candidates 0 … 39
  const vectors = new Float32Array(CATALOGUE * DIM);
  for (let v = 0; v < CATALOGUE; v++) vectors[v * DIM + (v % DIM)] = 1;
  models = {
    modelVersion: 'm-test',
    userEncoder: { dim: DIM, encode: async () => Float32Array.of(0.5, 0.5, 0.5, 0.5) },
    ranker: {
      modelVersion: 'm-test',
      // Scores fall with the row: the ranked order is the candidate order.
      score: async (_features, n) => {
        rankerCalls++;
        return {
          pClick: new Float32Array(n).fill(0.5),
          watchTimeS: Float32Array.from({ length: n }, (_, i) => 100 - i),
        };
      },
    },
    items: { vectors, dim: DIM, count: CATALOGUE },
    sources: [
      {
        name: 'two_tower',
        retrieve: async () =>
          retrieved.map((video, i) => ({ video, score: 1 - i / 100, source: 'two_tower' })),
      },
    ],
    editorial: Array.from({ length: 30 }, (_, i) => 170 + i),
  };
  const popularity = new PopularityCache(store, clock, {
    refreshMs: 1000,
    globalSize: 50,
    regionSize: 50,
    regions: 1,
  });
  await popularity.refresh();
  deps = {
    clock,
    features: store,
    sources: [],
    popularity,
    exploration: seededRandom(1).stream('test'),
    impressionIds: seededRandom(1).stream('impression.id'),
    impressions: {
      publish: () => {},
      stats: () => ({ pending: 0, published: 0, dropped: 0 }),
      close: async () => {},
    },
  };
  breakers = new Breakers(clock, ['two_tower'], TEST_BREAKER);
});

const serve = (userId = 'u_1', count = COUNT): Promise<RecommendResult> =>
  recommend(deps, models, { ...pipelineConfig([]), retrievalKDefault: 100, candidatesMax: 100 }, breakers, {
    userId,
    count,
    regionIdx: 0,
    deviceIdx: 0,
  });
const videosOf = (r: RecommendResult) => r.items.map((it) => Number(it.video_id.slice(2)));

describe('recommend: missing data is a rung and a reason', () => {
  it('a known user with every record: `full`, no reasons, `count` items', async () => {
    const r = await serve();
    expect(r.meta.rung).toBe('full');
    expect(r.meta.reasons).toEqual([]);
    expect(r.items).toHaveLength(COUNT);
  });

  it('an unknown user while the store holds its load marker is a cold start on `full`', async () => {
    const r = await serve('u_new');
    expect(r.meta.rung).toBe('full');
    expect(r.meta.reasons).toEqual([]);
    expect(r.items).toHaveLength(COUNT);
    expect(r.items.every((it) => it.source === 'two_tower')).toBe(true);
  });

  it('an unknown user while the marker is gone (store lost its data): `popularity`, FEATURES_MISSING', async () => {
    store.users.clear();
    store.marker = undefined;
    const r = await serve('u_1');
    expect(r.meta.rung).toBe('popularity');
    expect(r.meta.reasons).toEqual([{ stage: 'user_context', code: 'RECLAB_ERR_FEATURES_MISSING' }]);
    expect(r.items).toHaveLength(COUNT);
    expect(r.items.every((it) => it.source === 'popularity_cache')).toBe(true);
    expect(rankerCalls).toBe(0);
  });

  it('a few candidates without a video record are dropped, never ranked: `default_features`', async () => {
    for (let v = 0; v < 40; v += 3) store.missingVideos.add(v); // 14 of 40
    const r = await serve();
    expect(r.meta.rung).toBe('default_features');
    expect(r.meta.reasons).toEqual([{ stage: 'enrichment', code: 'RECLAB_ERR_FEATURES_MISSING' }]);
    expect(r.items).toHaveLength(COUNT);
    expect(videosOf(r).filter((v) => store.missingVideos.has(v))).toEqual([]);
    expect(r.meta.candidates).toEqual({ retrieved: 40, ranked: 26 });
  });

  it('most candidates without a record (the store lost its videos): `popularity`', async () => {
    for (let v = 0; v < 25; v++) store.missingVideos.add(v); // 25 of 40
    const r = await serve();
    expect(r.meta.rung).toBe('popularity');
    expect(r.meta.reasons).toEqual([{ stage: 'enrichment', code: 'RECLAB_ERR_FEATURES_MISSING' }]);
    expect(r.items).toHaveLength(COUNT);
    expect(rankerCalls).toBe(0);
  });

  it('the enrichment read failing: `default_features`, candidates flagged in retrieval order, ranker not called', async () => {
    store.videosFail = true;
    const r = await serve();
    expect(r.meta.rung).toBe('default_features');
    expect(r.meta.reasons).toEqual([{ stage: 'enrichment', code: 'RECLAB_ERR_FEATURES_UNAVAILABLE' }]);
    expect(rankerCalls).toBe(0);
    // Unknown creators are not all "creator 0": the creator cap does not cut the page to 3.
    expect(r.items).toHaveLength(COUNT);
    expect(r.items.every((it) => it.source === 'two_tower')).toBe(true);
  });
});

describe('recommend: a page is never short while a lower rung can fill it', () => {
  it('too few candidates: topped up from the popularity cache, reason top_up.popularity, rung kept', async () => {
    retrieved = [0, 1, 2, 3];
    deps.policy = { blocked: new Set([100]) };
    const r = await serve();
    expect(r.meta.rung).toBe('full');
    expect(r.meta.reasons).toEqual([{ stage: 'top_up.popularity', code: 'RECLAB_ERR_PAGE_SHORT' }]);
    expect(r.items).toHaveLength(COUNT);
    expect(r.items.slice(0, 4).every((it) => it.source === 'two_tower')).toBe(true);
    expect(r.items.slice(4).every((it) => it.source === 'popularity_cache')).toBe(true);
    expect(videosOf(r)).not.toContain(100); // blocked by policy
    expect(new Set(videosOf(r)).size).toBe(COUNT);
  });

  it('a popularity cache shorter than `count`: topped up from the editorial list', async () => {
    store.users.clear();
    store.marker = undefined;
    store.popular = [100, 101, 102];
    // A cache whose first fill read only 3 videos (a filled cache would keep its longer lists).
    const cold = new PopularityCache(store, deps.clock, {
      refreshMs: 1000,
      globalSize: 50,
      regionSize: 50,
      regions: 1,
    });
    await cold.refresh();
    deps.popularity = cold;
    const r = await serve('u_1', 12);
    expect(r.meta.rung).toBe('popularity');
    expect(r.meta.reasons).toEqual([
      { stage: 'user_context', code: 'RECLAB_ERR_FEATURES_MISSING' },
      { stage: 'top_up.editorial', code: 'RECLAB_ERR_PAGE_SHORT' },
    ]);
    expect(r.items).toHaveLength(12);
    expect(r.items.slice(0, 3).map((it) => it.source)).toEqual([
      'popularity_cache',
      'popularity_cache',
      'popularity_cache',
    ]);
    expect(r.items.slice(3).every((it) => it.source === 'editorial')).toBe(true);
  });
});

describe('recommend: a source that needs the recent watches (CandidateSource.needsRecentWatches)', () => {
  it('is skipped without asking its breaker while that read fails, and called again once it is back', async () => {
    let activityDown = true;
    let contentCalls = 0;
    deps.activity = {
      recentWatches: async () => {
        if (activityDown) throw new Error('redis down');
        return [1, 2, 3];
      },
    };
    const content: CandidateSource = {
      name: 'content',
      needsRecentWatches: true,
      retrieve: async (ctx) => {
        contentCalls++;
        await ctx.recentWatches;
        return [{ video: 60, score: 0.5, source: 'content' }];
      },
    };
    models = { ...models, sources: [...models.sources, content] };
    breakers = new Breakers(deps.clock, ['two_tower', 'content'], TEST_BREAKER);
    // More calls than the breaker's minimum (100), all while the recent watches are unavailable.
    for (let i = 0; i < 150; i++) {
      const r = await serve();
      expect(r.meta.rung).toBe('partial_retrieval');
      expect(r.meta.reasons).toContainEqual({
        stage: 'retrieval.content',
        code: 'RECLAB_ERR_FEATURES_UNAVAILABLE',
      });
    }
    expect(contentCalls).toBe(0);
    // The content index never failed: its breaker stays closed, so the source serves as soon as the
    // recent watches are readable again (before, it had failed 150 times and stayed open).
    expect(breakers.sources.get('content')!.state).toBe('closed');
    activityDown = false;
    advance(TEST_BREAKER.openMs); // the activity breaker (opened by the failed reads) lets a trial through
    const r = await serve();
    expect(contentCalls).toBe(1);
    expect(r.meta.rung).toBe('full');
  });
});
