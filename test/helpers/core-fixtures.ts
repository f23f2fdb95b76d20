/**
 * Minimal in-memory fixtures for tests of the core's HTTP app and model registry, where what is
 * tested is routing and admin behaviour, not the models (fallback-rungs.test.ts runs the real ones).
 * The core itself is built by the composition root (`fixtureCore` → core/compose.ts `createCore`).
 */
import { type Core, type CoreAdapters, createCore, type ModelSource } from '../../core/compose.ts';
import { type CoreSettings, loadSettings } from '../../core/config/config.ts';
import type { CoreMetrics } from '../../core/observability/metrics.ts';
import type { PipelineConfig } from '../../core/pipeline/recommend.ts';
import type { Clock } from '../../core/ports/clock.ts';
import type { FeatureStore } from '../../core/ports/feature-store.ts';
import { seededRandom } from '../../core/random/seeded-random.ts';
import type { SwappableModelSet } from '../../core/registry/model-slots.ts';

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
 * watched filter, zero ranking weights, no cascade, 5 candidates at the `lean` brownout level; only the `experiments` differ between tests.
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
    leanCandidatesMax: 5,
  };
}

/** Admission that never binds in these tests: the deployed core's defaults (core/config/config.ts). */
export const FIXTURE_BULKHEAD = { maxConcurrent: 64, maxQueue: 256, shedTargetMs: 50, shedIntervalMs: 500 };

/**
 * Core settings around `pipelineConfig(experiments)`: the default bulkhead and brownout, no L1 cache, popularity
 * refreshed every 1000 ms (only once `start()` is called), fault injection as asked.
 */
export function fixtureSettings(
  experiments: PipelineConfig['experiments'],
  faultInjection = false,
): CoreSettings {
  return {
    pipeline: pipelineConfig(experiments),
    bulkhead: FIXTURE_BULKHEAD,
    brownout: loadSettings({}).brownout,
    popularityRefreshMs: 1000,
    l1Cache: { maxEntries: 0, ttlMs: 0 },
    policy: { refreshMs: 10_000, maxEntries: 1000 },
    faultInjection,
  };
}

function withOverrides(base: CoreSettings, opts: FixtureCoreOptions): CoreSettings {
  return {
    ...base,
    pipeline: { ...base.pipeline, ...opts.pipeline },
    bulkhead: opts.bulkhead ?? base.bulkhead,
    brownout: { ...base.brownout, ...opts.brownout },
  };
}

/** An impression log that drops everything. */
export const droppingImpressionLog = {
  publish: () => {},
  stats: () => ({ pending: 0, published: 0, dropped: 0 }),
  close: async () => {},
};

export interface FixtureCoreOptions {
  clock: Clock;
  /** Experiment layers of the pipeline config (default none). */
  experiments?: PipelineConfig['experiments'];
  /** Default `emptyFeatureStore`. */
  features?: FeatureStore;
  /** Default: `fakeModelSet('blue')` first, any version loads as `fakeModelSet(version)`, no warm-up. */
  models?: Partial<ModelSource<SwappableModelSet>>;
  /** Serve /admin/faults (fault injection on). */
  faultInjection?: boolean;
  /** Default FIXTURE_BULKHEAD. */
  bulkhead?: CoreSettings['bulkhead'];
  /** Default the deployed core's (`loadSettings({})`: on). */
  brownout?: Partial<CoreSettings['brownout']>;
  /** Changes to `pipelineConfig(experiments)`. */
  pipeline?: Partial<PipelineConfig>;
  events?: CoreAdapters<SwappableModelSet>['events'];
  uploads?: CoreAdapters<SwappableModelSet>['uploads'];
  metrics?: CoreMetrics;
  /** Drift monitor (default: one with `metrics`, none without). */
  drift?: CoreAdapters<SwappableModelSet>['drift'];
  /** Ready to serve (default true). */
  ready?: boolean;
}

/**
 * A core built by the composition root (core/compose.ts) over in-memory fixtures: the feature store,
 * an impression log that drops everything, fake model sets, random streams from seed 1.
 */
export async function fixtureCore(opts: FixtureCoreOptions): Promise<Core> {
  const core = await createCore<SwappableModelSet>(
    {
      features: opts.features ?? emptyFeatureStore,
      impressions: droppingImpressionLog,
      events: opts.events,
      uploads: opts.uploads,
      metrics: opts.metrics,
      ...(opts.drift ? { drift: opts.drift } : {}),
      models: {
        initial: fakeModelSet('blue'),
        load: async (version) => fakeModelSet(version),
        warmUp: async () => {},
        ...opts.models,
      },
    },
    withOverrides(fixtureSettings(opts.experiments ?? [], opts.faultInjection), opts),
    opts.clock,
    seededRandom(1),
  );
  core.lifecycle.ready = opts.ready ?? true;
  return core;
}
