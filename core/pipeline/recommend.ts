import { randomUUID } from 'node:crypto';
import { type ErrorCode, errorCode, ReclabError } from '../errors.ts';
import { videoIdOf } from '../features/ids.ts';
import {
  defaultUserRecord,
  rankerInput,
  USER_FEATURE_DIM,
  USER_RECORD,
  userModelInput,
  VIDEO_RECORD,
  VIDEO_RECORD_LEN,
} from '../features/schema.ts';
import type { CandidateSource, RetrievalContext } from '../ports/candidate-source.ts';
import type { Clock } from '../ports/clock.ts';
import type { FeatureStore } from '../ports/feature-store.ts';
import type { ImpressionLog } from '../ports/impression-log.ts';
import type { RandomStream } from '../ports/random.ts';
import type { Predictions, Ranker, UserEncoder } from '../ports/ranker.ts';
import { CircuitBreaker } from '../resilience/circuit-breaker.ts';
import { LadderPosition, type Rung } from '../resilience/fallback-ladder.ts';
import { guarded } from '../resilience/guard.ts';
import { assignVariant, type ExperimentConfig } from './experiments.ts';
import { type Candidate, mergeCandidates } from './merge.ts';
import type { PopularityCache } from './popularity-cache.ts';
import { type RerankCandidate, type RerankConfig, rerank } from './rerank.ts';

/** Item-tower embeddings of the whole catalogue, kept in memory (FAISS holds a copy). */
export interface ItemEmbeddings {
  /** `Float32Array` of length count × dim, row i = video i, L2-normalised. */
  vectors: Float32Array;
  dim: number;
  count: number;
}

/**
 * One version of everything model-made that a request uses (seed 000 §7, "Zero-Downtime Model
 * Swap"): towers, ranker, item embeddings, the retrieval sources over them, the editorial list. A
 * request takes one `ModelSet` at its start and uses only it, so it never mixes versions while the
 * core swaps sets (core/registry/model-slots.ts).
 */
export interface ModelSet {
  /** Served as `meta.model_version` and logged with each impression. */
  readonly modelVersion: string;
  readonly userEncoder: UserEncoder;
  readonly ranker: Ranker;
  readonly items: ItemEmbeddings;
  /** Retrieval sources built on this set's models (the two-tower ANN index). */
  readonly sources: readonly CandidateSource[];
  /** The static editorial list (video indices), the last rung. */
  readonly editorial: readonly number[];
  /** The fresh-uploads index (seed 000 §7): videos beyond `items.count`, embedded at upload. */
  readonly fresh?: {
    vectorOf(video: number): Float32Array | undefined;
    add(video: number, vector: Float32Array): number;
  };
  /** The item tower, to embed fresh uploads: n × VIDEO_FEATURE_DIM features → n × dim. */
  readonly itemEncoder?: { encodeBatch(features: Float32Array, n: number): Promise<Float32Array> };
}

/** Everything the pipeline talks to besides the model set: ports only, no drivers. */
export interface PipelineDeps {
  clock: Clock;
  features: FeatureStore;
  /** Retrieval sources that do not depend on a model version (popularity, …). */
  sources: readonly CandidateSource[];
  popularity: PopularityCache;
  impressions: ImpressionLog;
  /** Real-time user activity (streaming features): the already-watched filter reads it. */
  activity?: RecentActivity;
  /** Stream for exploration slots (`Random.stream('rerank.exploration')`). */
  exploration: RandomStream;
}

/** The part of the real-time features the pipeline reads (core/adapters/redis/realtime-features.ts). */
export interface RecentActivity {
  /** The user's last `n` watched videos (catalogue indices), newest first. */
  recentWatches(userId: string, n: number): Promise<number[]>;
}

/** Tunables of the pipeline; all durations in ms. */
export interface PipelineConfig {
  deadlines: {
    userMs: number;
    encoderMs: number;
    retrievalMs: number;
    enrichmentMs: number;
    rankingMs: number;
  };
  /** Candidates asked of each source, by source name (default `retrievalKDefault`). */
  retrievalK: Record<string, number>;
  retrievalKDefault: number;
  /** Cap on merged candidates (seed 000: about 300). */
  candidatesMax: number;
  mmrLambda: number;
  /** Re-ranking tunables besides page size and MMR lambda (core/pipeline/rerank.ts). */
  rerank: Omit<RerankConfig, 'count' | 'mmrLambda'>;
  /** How many recent watches the already-watched filter reads. */
  watchedFilterN: number;
  breaker: { failureThreshold: number; openMs: number };
  experiment: ExperimentConfig;
}

export interface RecommendRequest {
  userId: string;
  count: number;
  /** Region/device from the request context; used when the user is unknown (cold start). */
  regionIdx: number | undefined;
  deviceIdx: number | undefined;
}

export interface RecommendedItem {
  video_id: string;
  score: number;
  source: string;
}

export interface RecommendResult {
  items: RecommendedItem[];
  meta: {
    impression_id: string;
    rung: Rung;
    reasons: { stage: string; code: ErrorCode }[];
    timings_ms: Record<string, number>;
    model_version: string;
    experiment: { id: string; variant: string };
    candidates: { retrieved: number; ranked: number };
  };
}

/**
 * The circuit breakers of one core instance, one per dependency (seed 000 §6). Shared by all requests.
 */
export class Breakers {
  readonly features: CircuitBreaker;
  readonly encoder: CircuitBreaker;
  readonly ranker: CircuitBreaker;
  readonly activity: CircuitBreaker;
  readonly sources: Map<string, CircuitBreaker>;

  constructor(clock: Clock, sourceNames: readonly string[], opts: PipelineConfig['breaker']) {
    this.features = new CircuitBreaker('features', clock, opts);
    this.encoder = new CircuitBreaker('user_encoder', clock, opts);
    this.ranker = new CircuitBreaker('ranker', clock, opts);
    this.activity = new CircuitBreaker('activity', clock, opts);
    this.sources = new Map(sourceNames.map((n) => [n, new CircuitBreaker(`retrieval.${n}`, clock, opts)]));
  }

  all(): CircuitBreaker[] {
    return [this.features, this.encoder, this.ranker, this.activity, ...this.sources.values()];
  }
}

/** The policy block list (empty until a policy source exists). */
const NO_BLOCKED: ReadonlySet<number> = new Set();

/** Rejects a ranker output with NaN/Inf or the wrong length (seed 000 §6: "Model produces NaN/Inf"). */
function validatePredictions(p: Predictions, n: number): Predictions {
  if (p.pClick.length !== n || p.watchTimeS.length !== n) {
    throw new ReclabError('RECLAB_ERR_RANKER_INVALID_OUTPUT', `${p.pClick.length} rows for ${n} candidates`);
  }
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(p.pClick[i]) || !Number.isFinite(p.watchTimeS[i])) {
      throw new ReclabError('RECLAB_ERR_RANKER_INVALID_OUTPUT', `non-finite prediction at row ${i}`);
    }
  }
  return p;
}

/**
 * Serves one recommendation request through the full pipeline (seed 000 §1 and §2.2), stepping down
 * the fallback ladder (seed 000 §6) instead of failing:
 *
 * 1. A/B assignment; 2. user context (feature store) — unavailable ⇒ `popularity`;
 * 3. user tower + parallel retrieval, each source under its own deadline and breaker — a failed
 *    source ⇒ `partial_retrieval`, none left ⇒ `popularity`; 4. merge & de-duplicate;
 * 5. batched enrichment — unavailable ⇒ `default_features`; 6. batched ranking — failed, late or
 *    NaN/Inf ⇒ `retrieval_scores`; 7. MMR re-rank; 8. impression published asynchronously.
 * The `popularity` rung serves the in-process popularity cache; if it is empty, `editorial`.
 *
 * Never throws for a dependency failure: every such failure is a rung and a reason.
 * `models` is the set the caller took for this request; retrieval runs its sources first, then
 * `deps.sources`.
 */
export async function recommend(
  deps: PipelineDeps,
  models: ModelSet,
  cfg: PipelineConfig,
  breakers: Breakers,
  req: RecommendRequest,
): Promise<RecommendResult> {
  const { clock } = deps;
  const sources = [...models.sources, ...deps.sources];
  const t0 = clock.now();
  const timings: Record<string, number> = {};
  let mark = t0;
  const lap = (stage: string) => {
    const now = clock.now();
    timings[stage] = Math.round((now - mark) * 1000) / 1000;
    mark = now;
  };
  const ladder = new LadderPosition();
  const variant = assignVariant(req.userId, cfg.experiment);

  const finish = (items: RecommendedItem[], retrieved: number, ranked: number): RecommendResult => {
    timings.total = Math.round((clock.now() - t0) * 1000) / 1000;
    const result: RecommendResult = {
      items,
      meta: {
        impression_id: `imp_${randomUUID()}`,
        rung: ladder.rung,
        reasons: ladder.reasons,
        timings_ms: timings,
        model_version: models.modelVersion,
        experiment: { id: cfg.experiment.id, variant },
        candidates: { retrieved, ranked },
      },
    };
    deps.impressions.publish({
      impression_id: result.meta.impression_id,
      user_id: req.userId,
      timestamp: Math.round(clock.now()),
      experiment_id: cfg.experiment.id,
      variant,
      rung: ladder.rung,
      model_version: result.meta.model_version,
      candidates_retrieved: retrieved,
      candidates_ranked: ranked,
      final_list_size: items.length,
      recommendations: items.map((it, i) => ({
        video_id: it.video_id,
        position: i + 1,
        ranking_score: it.score,
        retrieval_source: it.source,
      })),
      latency_ms: timings,
    });
    return result;
  };

  /** The non-personalised rungs: popularity cache, then the editorial list. */
  const servePopular = (stage: string, code: ErrorCode): RecommendResult => {
    const videos = deps.popularity.top(req.regionIdx ?? 0, req.count);
    if (videos.length > 0) {
      ladder.degrade('popularity', stage, code);
      const items = videos.map((v, i) => ({
        video_id: videoIdOf(v),
        score: 1 - i / videos.length,
        source: 'popularity_cache',
      }));
      return finish(items, videos.length, 0);
    }
    ladder.degrade('editorial', stage, code);
    ladder.degrade('editorial', 'popularity_cache', 'RECLAB_ERR_POPULARITY_UNAVAILABLE');
    const picks = models.editorial.slice(0, req.count);
    return finish(
      picks.map((v, i) => ({ video_id: videoIdOf(v), score: 1 - i / picks.length, source: 'editorial' })),
      picks.length,
      0,
    );
  };

  // 2. User context; the recent watches (for the already-watched filter) are read alongside.
  const watchedRead: Promise<ReadonlySet<number>> = deps.activity
    ? guarded(
        clock,
        breakers.activity,
        cfg.deadlines.userMs,
        { timeout: 'RECLAB_ERR_FEATURES_TIMEOUT', unavailable: 'RECLAB_ERR_FEATURES_UNAVAILABLE' },
        () => deps.activity!.recentWatches(req.userId, cfg.watchedFilterN),
      ).then(
        (list) => new Set(list),
        (err: unknown) => {
          // Without the filter a page may repeat a recent watch: worse, but still the full pipeline.
          ladder.degrade('full', 'watched_filter', errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE'));
          return new Set<number>();
        },
      )
    : Promise.resolve(new Set<number>());
  let user: Float32Array;
  try {
    const found = await guarded(
      clock,
      breakers.features,
      cfg.deadlines.userMs,
      { timeout: 'RECLAB_ERR_FEATURES_TIMEOUT', unavailable: 'RECLAB_ERR_FEATURES_UNAVAILABLE' },
      () => deps.features.getUser(req.userId),
    );
    // An unknown user is a cold start, not a failure: defaults shaped by the request's context.
    user = found ?? defaultUserRecord(req.regionIdx ?? 0, req.deviceIdx ?? 0);
  } catch (err) {
    lap('user');
    return servePopular('user_context', errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE'));
  }
  lap('user');
  const regionIdx = req.regionIdx ?? user[USER_RECORD.region] | 0;

  // 3. User tower, then retrieval fan-out in parallel.
  let userEmbedding: Float32Array | undefined;
  try {
    const userFeatures = new Float32Array(USER_FEATURE_DIM);
    userModelInput(user, userFeatures);
    userEmbedding = await guarded(
      clock,
      breakers.encoder,
      cfg.deadlines.encoderMs,
      { timeout: 'RECLAB_ERR_RETRIEVAL_TIMEOUT', unavailable: 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE' },
      () => models.userEncoder.encode(userFeatures),
    );
  } catch (err) {
    ladder.degrade('partial_retrieval', 'user_encoder', errorCode(err, 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE'));
  }
  const ctx: RetrievalContext = { userId: req.userId, user, userEmbedding, regionIdx };
  const settled = await Promise.allSettled(
    sources.map((s) =>
      guarded(
        clock,
        breakers.sources.get(s.name)!,
        cfg.deadlines.retrievalMs,
        { timeout: 'RECLAB_ERR_RETRIEVAL_TIMEOUT', unavailable: 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE' },
        () => s.retrieve(ctx, cfg.retrievalK[s.name] ?? cfg.retrievalKDefault),
      ),
    ),
  );
  const lists: Candidate[][] = [];
  settled.forEach((r, i) => {
    if (r.status === 'fulfilled') lists.push(r.value);
    else
      ladder.degrade(
        'partial_retrieval',
        `retrieval.${sources[i].name}`,
        errorCode(r.reason, 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE'),
      );
  });
  lap('retrieval');

  // 4. Merge and de-duplicate.
  const candidates = mergeCandidates(lists, cfg.candidatesMax);
  lap('merge');
  if (candidates.length === 0) return servePopular('retrieval', 'RECLAB_ERR_RETRIEVAL_EMPTY');
  const n = candidates.length;

  // 5. Enrichment: one batched read for all candidates.
  let records: (Float32Array | undefined)[];
  try {
    records = await guarded(
      clock,
      breakers.features,
      cfg.deadlines.enrichmentMs,
      { timeout: 'RECLAB_ERR_FEATURES_TIMEOUT', unavailable: 'RECLAB_ERR_FEATURES_UNAVAILABLE' },
      () => deps.features.getVideos(candidates.map((c) => c.video)),
    );
  } catch (err) {
    ladder.degrade('default_features', 'enrichment', errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE'));
    records = [];
  }
  const emptyRecord = new Float32Array(VIDEO_RECORD_LEN);
  const videoRecords = candidates.map((_, i) => records[i] ?? emptyRecord);
  lap('enrichment');

  // 6. Ranking: one batched call; affinity from the in-memory item embeddings.
  const { dim, vectors } = models.items;
  const candEmb = new Float32Array(n * dim);
  const affinity = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const v = candidates[i].video;
    const row =
      v < models.items.count
        ? vectors.subarray(v * dim, (v + 1) * dim)
        : (models.fresh?.vectorOf(v) ?? new Float32Array(dim));
    candEmb.set(row, i * dim);
    if (userEmbedding) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += row[d] * userEmbedding[d];
      affinity[i] = dot;
    }
  }
  const scores = new Float64Array(n);
  let ranked = 0;
  try {
    const input = rankerInput(user, videoRecords, affinity, clock.now() / 1000);
    const preds = await guarded(
      clock,
      breakers.ranker,
      cfg.deadlines.rankingMs,
      { timeout: 'RECLAB_ERR_RANKER_TIMEOUT', unavailable: 'RECLAB_ERR_RANKER_UNAVAILABLE' },
      async () => validatePredictions(await models.ranker.score(input, n), n),
    );
    // Expected watch time: P(click) × E[watch | click] (Covington et al. 2016's watch-time objective).
    for (let i = 0; i < n; i++) scores[i] = preds.pClick[i] * preds.watchTimeS[i];
    ranked = n;
  } catch (err) {
    ladder.degrade('retrieval_scores', 'ranking', errorCode(err, 'RECLAB_ERR_RANKER_UNAVAILABLE'));
    // Merge order interleaves each source's best first: that order is the retrieval-score ranking.
    for (let i = 0; i < n; i++) scores[i] = 1 - i / n;
  }
  lap('ranking');

  // 7. Re-rank: filters, score adjustments, MMR with creator caps, exploration slots.
  const nowS = clock.now() / 1000;
  const rerankCands: RerankCandidate[] = candidates.map((c, i) => {
    const rec = videoRecords[i];
    return {
      video: c.video,
      creator: rec[VIDEO_RECORD.creator],
      score: Math.max(0, scores[i]),
      ageH: records[i] ? Math.max(0, (nowS - rec[VIDEO_RECORD.uploadTsS]) / 3600) : Number.POSITIVE_INFINITY,
      // No observable clickbait estimate is served yet (a bounce-rate feature would be one).
      clickbait: 0,
      logViews: records[i] ? rec[VIDEO_RECORD.logViews] : Number.POSITIVE_INFINITY,
    };
  });
  const page = rerank(
    rerankCands,
    candEmb,
    dim,
    { watched: await watchedRead, blocked: NO_BLOCKED },
    { ...cfg.rerank, count: req.count, mmrLambda: cfg.mmrLambda },
    deps.exploration,
  );
  const items = page.order.map((i) => ({
    video_id: videoIdOf(candidates[i].video),
    score: Math.round(scores[i] * 1e4) / 1e4,
    source: candidates[i].source,
  }));
  lap('reranking');
  return finish(items, n, ranked);
}
