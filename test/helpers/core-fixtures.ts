/**
 * Minimal in-memory fixtures for tests of the core's HTTP app and model registry, where what is
 * tested is routing and admin behaviour, not the models (fallback-rungs.test.ts runs the real ones).
 */
import { PopularityCache } from '../../core/pipeline/popularity-cache.ts';
import type { PipelineConfig, PipelineDeps } from '../../core/pipeline/recommend.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import type { SwappableModelSet } from '../../core/registry/model-slots.ts';
import type { FaultInjector } from '../../core/resilience/fault-injection.ts';

/**
 * A FeatureStore that knows no user and no video, and has no popular videos, but holds a complete
 * load (its marker says `empty-world`): every user is a cold start.
 */
export const emptyFeatureStore: FeatureStore = {
  getUser: async () => undefined,
  getVideos: async (v) => v.map(() => undefined),
  topPopular: async () => [],
  loadMarker: async () => 'empty-world',
};

/**
 * A model set named `version`: a 2-dim user encoder and a ranker that return zeros, 2 items of
 * dimension 2, no version-bound sources, editorial list [0, 1], and a `release` that does nothing.
 */
export function fakeModelSet(version: string): SwappableModelSet {
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

/**
 * Breaker settings for tests: the core's defaults (RECLAB_BREAKER_*, docs/fallback.md), so a test
 * that fails a few calls sees the breaker stay closed, as the deployed core would.
 */
export const TEST_BREAKER: PipelineConfig['breaker'] = {
  windowMs: 5000,
  windowBuckets: 10,
  minimumCalls: 100,
  failureRatePct: 50,
  slowCallRatePct: 80,
  openMs: 1000,
  halfOpenCalls: 10,
};

/**
 * A pipeline config with 50 ms deadlines, 10 candidates, no re-ranking boosts or penalties, no
 * watched filter, zero ranking weights and no cascade; only the `experiments` differ between tests.
 */
export function pipelineConfig(experiments: PipelineConfig['experiments']): PipelineConfig {
  return {
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
    breaker: TEST_BREAKER,
    experiments,
    rankingWeights: { like: 0, finish: 0, dislike: 0 },
    cascadeTopN: 0,
  };
}

/**
 * Pipeline dependencies over `clock` and `features`: no shared sources, exploration from seed 1
 * stream 'test', a one-entry popularity cache (refresh every 1000 ms), an impression log that drops
 * everything, and `faults` when given (the admin fault routes answer RECLAB_ERR_FAULT_INJECTION_OFF
 * without it).
 */
export function pipelineDeps(clock: Clock, features: FeatureStore, faults?: FaultInjector): PipelineDeps {
  const deps: PipelineDeps = {
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
  };
  if (faults) deps.faults = faults;
  return deps;
}
