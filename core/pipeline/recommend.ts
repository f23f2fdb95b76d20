import { type ErrorCode, errorCode } from '../errors.ts';
import { videoIdOf } from '../features/ids.ts';
import {
  defaultUserRecord,
  rankerInput,
  USER_FEATURE_DIM,
  USER_RECORD,
  userModelInput,
  VIDEO_RECORD,
} from '../features/schema.ts';
import type { DriftMonitor, TrainingDistribution } from '../observability/drift-monitor.ts';
import type { CandidateSource, RetrievalContext } from '../ports/candidate-source.ts';
import type { Clock } from '../ports/clock.ts';
import type { FeatureStore } from '../ports/feature-store.ts';
import type { ImpressionLog } from '../ports/impression-log.ts';
import type { RandomStream } from '../ports/random.ts';
import type { Ranker, UserEncoder } from '../ports/ranker.ts';
import {
  type BreakerTransition,
  CircuitBreaker,
  type CircuitBreakerOptions,
} from '../resilience/circuit-breaker.ts';
import { LadderPosition, type Rung } from '../resilience/fallback-ladder.ts';
import type { FaultInjector } from '../resilience/fault-injection.ts';
import { guarded } from '../resilience/guard.ts';
import {
  type Assignments,
  assignExperiments,
  type ExperimentConfig,
  type RankingWeights,
} from './experiments.ts';
import { nextImpressionId } from './impression-id.ts';
import { type Candidate, mergeCandidates } from './merge.ts';
import type { PopularityCache } from './popularity-cache.ts';
import { clickbaitEstimate, type RankingOutcome, rankCandidates } from './ranking.ts';
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
  /** The main (MMoE) ranker: the ranker tier's client, or an in-process session. */
  readonly ranker: Ranker;
  /** The light ranker (in process): the `light_ranker` rung and the cascade's pre-scorer. */
  readonly lightRanker?: Ranker;
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
  /** The served features' distribution in training (the manifest's), for drift; absent: not watched. */
  readonly trainingDistribution?: TrainingDistribution;
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
  /** Stream the impression ids are drawn from (core/pipeline/impression-id.ts; core/compose.ts names it). */
  impressionIds: RandomStream;
  /** Videos blocked by policy, held in process (core/pipeline/policy-blocklist.ts); none when absent. */
  policy?: { readonly blocked: ReadonlySet<number> };
  /** Faults injected at dependency calls (RECLAB_FAULT_INJECTION=on only). */
  faults?: FaultInjector;
  /** Told every ranked request's features and click head (PSI per feature; docs/observability.md). */
  drift?: DriftMonitor;
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
  /** Every dependency's breaker (rate-based, core/resilience/circuit-breaker.ts; docs/fallback.md). */
  breaker: CircuitBreakerOptions;
  /** Experiment layers (core/pipeline/experiments.ts); may be empty. */
  experiments: readonly ExperimentConfig[];
  /** Task weights of the ranking score outside any variant's overrides. */
  rankingWeights: RankingWeights;
  /** Cascade ranking (seed 000 Q5): the light ranker keeps the top N for the main ranker; 0 = off. */
  cascadeTopN: number;
  /** Candidates at most when admission browns a request out to `lean` (RECLAB_BROWNOUT_LEAN_CANDIDATES). */
  leanCandidatesMax: number;
}

export interface RecommendRequest {
  userId: string;
  count: number;
  /** Region/device from the request context; used when the user is unknown (cold start). */
  regionIdx: number | undefined;
  deviceIdx: number | undefined;
  /** The request's experiment assignments, when the caller already made them (to pick the model set). */
  assignments?: Assignments;
  /**
   * A cheaper level chosen by admission under load (core/resilience/brownout.ts; absent = full):
   * `light` ranks with the light ranker only; `lean` also keeps at most `leanCandidatesMax`
   * candidates; `popularity` serves the popularity cache without reading anything.
   */
  brownout?: 'light' | 'lean' | 'popularity';
}

export interface RecommendedItem {
  video_id: string;
  score: number;
  source: string;
  /** Present (true) on an item placed by an exploration slot (core/pipeline/rerank.ts step 4), not by its score. */
  exploration?: true;
}

export interface RecommendResult {
  items: RecommendedItem[];
  meta: {
    impression_id: string;
    rung: Rung;
    reasons: { stage: string; code: ErrorCode }[];
    timings_ms: Record<string, number>;
    model_version: string;
    /** The first experiment layer (`{id: 'none', variant: 'none'}` without experiments). */
    experiment: { id: string; variant: string };
    /** Every experiment layer the request was assigned in. */
    experiments: { id: string; variant: string }[];
    candidates: { retrieved: number; ranked: number };
  };
}

/**
 * The circuit breakers of one core instance, one per dependency (seed 000 §6), all with the same
 * options. Shared by all requests. `onTransition` hears every breaker's state changes (metrics, logs).
 * @throws ReclabError RECLAB_ERR_CONFIG_INVALID when `opts` is out of range (CircuitBreaker)
 */
export class Breakers {
  readonly features: CircuitBreaker;
  readonly encoder: CircuitBreaker;
  readonly ranker: CircuitBreaker;
  readonly lightRanker: CircuitBreaker;
  readonly activity: CircuitBreaker;
  readonly sources: Map<string, CircuitBreaker>;

  constructor(
    clock: Clock,
    sourceNames: readonly string[],
    opts: PipelineConfig['breaker'],
    onTransition?: (t: BreakerTransition) => void,
  ) {
    const breaker = (name: string) => new CircuitBreaker(name, clock, opts, onTransition);
    this.features = breaker('features');
    this.encoder = breaker('user_encoder');
    this.ranker = breaker('ranker');
    this.lightRanker = breaker('light_ranker');
    this.activity = breaker('activity');
    this.sources = new Map(sourceNames.map((n) => [n, breaker(`retrieval.${n}`)]));
  }

  all(): CircuitBreaker[] {
    return [
      this.features,
      this.encoder,
      this.ranker,
      this.lightRanker,
      this.activity,
      ...this.sources.values(),
    ];
  }
}

/** The rung a response falls to when its candidates were scored by each ranking outcome. */
const RUNG_OF_RANKING = { main: 'full', light: 'light_ranker', retrieval: 'retrieval_scores' } as const;

/** The block list of a core without a policy source. */
const NO_BLOCKED: ReadonlySet<number> = new Set();

/**
 * Above this share of candidates without a video record, the store has lost its data (the
 * candidates come from the in-memory index of the whole catalogue, so each should have a record):
 * the request goes to the `popularity` rung instead of ranking the few that are left.
 */
export const MISSING_RECORDS_SHARE_MAX = 0.5;

/**
 * Appends videos of `from` that are neither on the page (`onPage`) nor excluded, until the page has
 * `count` items; each gets `source` and score 0 (below every ranked item). Returns how many it added.
 */
function topUp(
  items: RecommendedItem[],
  onPage: Set<number>,
  from: readonly number[],
  source: string,
  count: number,
  excluded: (video: number) => boolean,
): number {
  let added = 0;
  for (const v of from) {
    if (items.length >= count) break;
    if (onPage.has(v) || excluded(v)) continue;
    onPage.add(v);
    items.push({ video_id: videoIdOf(v), score: 0, source });
    added++;
  }
  return added;
}

/**
 * Where each candidate's item embedding is, and its affinity ⟨embedding, user embedding⟩ (written
 * into `affinity`; left at 0 without a user embedding). When every candidate has a row in the main
 * matrix and none is in the fresh index (the usual case), `matrix` is the catalogue's own matrix and
 * `rows[i]` = video × dim: nothing is copied. Otherwise the rows are copied into a new matrix, row i =
 * candidate i: the fresh index's vector when it holds the video (the newest: an upload announced
 * after the main index was built, inside or beyond its rows), else its main row, else zero. Either
 * way the floats and the products are the same. A top-level function, so V8 optimises the loops
 * on their own, outside the request's closure-heavy async function.
 */
function candidateEmbeddings(
  candidates: readonly Candidate[],
  items: ItemEmbeddings,
  fresh: ModelSet['fresh'],
  userEmbedding: Float32Array | undefined,
  affinity: Float32Array,
): { matrix: Float32Array; rows: Int32Array } {
  const { dim, vectors, count } = items;
  const n = candidates.length;
  const rows = new Int32Array(n);
  // Row offsets are int32: a matrix of more than 2^31 − 1 floats takes the copy.
  let inMain = count * dim <= 0x7fffffff;
  for (let i = 0; i < n && inMain; i++) {
    const v = candidates[i].video;
    if (v < 0 || v >= count || fresh?.vectorOf(v)) inMain = false;
    else rows[i] = v * dim;
  }
  let matrix = vectors;
  if (!inMain) {
    matrix = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const v = candidates[i].video;
      const at = i * dim;
      rows[i] = at;
      const f = fresh?.vectorOf(v);
      if (f) matrix.set(f, at);
      else if (v < count) {
        const from = v * dim;
        for (let d = 0; d < dim; d++) matrix[at + d] = vectors[from + d];
      }
    }
  }
  if (userEmbedding) {
    // Four candidates at a time: four independent sums (each over d in order, so the same bits as
    // one by one) overlap their additions and their rows' memory reads.
    let i = 0;
    for (; i + 4 <= n; i += 4) affinity4(matrix, rows, i, userEmbedding, dim, affinity);
    for (; i < n; i++) {
      const at = rows[i];
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += matrix[at + d] * userEmbedding[d];
      affinity[i] = dot;
    }
  }
  return { matrix, rows };
}

/** `affinity[i .. i + 4)` = ⟨row of candidate i + q, u⟩, each sum over d in order. */
function affinity4(
  matrix: Float32Array,
  rows: Int32Array,
  i: number,
  u: Float32Array,
  dim: number,
  affinity: Float32Array,
): void {
  const r0 = rows[i];
  const r1 = rows[i + 1];
  const r2 = rows[i + 2];
  const r3 = rows[i + 3];
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  for (let d = 0; d < dim; d++) {
    const x = u[d];
    s0 += matrix[r0 + d] * x;
    s1 += matrix[r1 + d] * x;
    s2 += matrix[r2 + d] * x;
    s3 += matrix[r3 + d] * x;
  }
  affinity[i] = s0;
  affinity[i + 1] = s1;
  affinity[i + 2] = s2;
  affinity[i + 3] = s3;
}

/** Fields per candidate in `rerankFieldsOf`'s array. */
const RERANK_FIELDS = 4;

/**
 * The record fields re-ranking reads, candidate i at `RERANK_FIELDS × i`: creator, upload time (s),
 * duration (s), log views (the records' float32 values, exactly).
 */
function rerankFieldsOf(records: readonly Float32Array[]): Float64Array {
  const out = new Float64Array(RERANK_FIELDS * records.length);
  for (let i = 0; i < records.length; i++) {
    const rec = records[i];
    const at = RERANK_FIELDS * i;
    out[at] = rec[VIDEO_RECORD.creator];
    out[at + 1] = rec[VIDEO_RECORD.uploadTsS];
    out[at + 2] = rec[VIDEO_RECORD.durationS];
    out[at + 3] = rec[VIDEO_RECORD.logViews];
  }
  return out;
}

/**
 * Serves one recommendation request through the full pipeline (seed 000 §1 and §2.2), stepping down
 * the fallback ladder (seed 000 §6) instead of failing:
 *
 * 1. A/B assignment; 2. user context (feature store) — unavailable ⇒ `popularity`; no record: a
 *    new user (cold start, defaults from the request's context) when the store's load marker is
 *    there, else the store lost its data ⇒ `popularity` (RECLAB_ERR_FEATURES_MISSING);
 * 3. user tower + parallel retrieval, each source under its own deadline and breaker — a failed
 *    source ⇒ `partial_retrieval`, none left ⇒ `popularity`; 4. merge & de-duplicate;
 * 5. batched enrichment — candidates without a video record are dropped (`default_features`,
 *    RECLAB_ERR_FEATURES_MISSING), more than `MISSING_RECORDS_SHARE_MAX` of them ⇒ `popularity`;
 *    the read failed ⇒ `default_features`: the candidates in retrieval order, flagged, never ranked
 *    on made-up records; 6. ranking (core/pipeline/ranking.ts):
 *    the main ranker tier, optionally behind a light-ranker cascade — main failed, late or NaN/Inf ⇒
 *    light ranker (`light_ranker`), both ⇒ merge order (`retrieval_scores`); 7. re-rank (filters,
 *    MMR, creator caps, exploration); a page shorter than `count` is topped up from the popularity
 *    cache, then the editorial list (reason `top_up.<rung>` RECLAB_ERR_PAGE_SHORT, the rung kept);
 *    8. impression published asynchronously.
 * Experiment variants (assigned up front, or by the caller in `req.assignments`) set the ranking
 * weights; the caller picks the model set a variant pins.
 * The `popularity` rung serves the in-process popularity cache, topped up from the editorial list
 * when short; if it is empty, `editorial`. The rules are in docs/fallback.md.
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
  const assigned = req.assignments ?? assignExperiments(req.userId, cfg.experiments, cfg.rankingWeights);
  const experiment = assigned.experiments[0] ?? { id: 'none', variant: 'none' };

  const finish = (items: RecommendedItem[], retrieved: number, ranked: number): RecommendResult => {
    timings.total = Math.round((clock.now() - t0) * 1000) / 1000;
    const result: RecommendResult = {
      items,
      meta: {
        impression_id: nextImpressionId(deps.impressionIds),
        rung: ladder.rung,
        reasons: ladder.reasons,
        timings_ms: timings,
        model_version: models.modelVersion,
        experiment,
        experiments: assigned.experiments,
        candidates: { retrieved, ranked },
      },
    };
    deps.impressions.publish({
      impression_id: result.meta.impression_id,
      user_id: req.userId,
      timestamp: Math.round(clock.now()),
      experiment_id: experiment.id,
      variant: experiment.variant,
      experiments: assigned.experiments,
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

  /**
   * Tops a short page up from the rungs below the one that made it: the popularity cache (unless
   * that made it), then the editorial list; each rung that added items is named in the reasons.
   */
  const topUpPage = (
    items: RecommendedItem[],
    regionIdx: number,
    fromPopularity: boolean,
    excluded: (video: number) => boolean,
  ): void => {
    if (items.length >= req.count) return;
    const onPage = new Set(items.map((it) => Number(it.video_id.slice(2))));
    if (
      fromPopularity &&
      topUp(
        items,
        onPage,
        deps.popularity.top(regionIdx, Number.POSITIVE_INFINITY),
        'popularity_cache',
        req.count,
        excluded,
      ) > 0
    ) {
      ladder.note('top_up.popularity', 'RECLAB_ERR_PAGE_SHORT');
    }
    if (topUp(items, onPage, models.editorial, 'editorial', req.count, excluded) > 0) {
      ladder.note('top_up.editorial', 'RECLAB_ERR_PAGE_SHORT');
    }
  };

  /** The non-personalised rungs: popularity cache (topped up from the editorial list), then the editorial list. */
  const servePopular = (stage: string, code: ErrorCode): RecommendResult => {
    const videos = deps.popularity.top(req.regionIdx ?? 0, req.count);
    if (videos.length > 0) {
      ladder.degrade('popularity', stage, code);
      const items = videos.map((v, i) => ({
        video_id: videoIdOf(v),
        score: 1 - i / videos.length,
        source: 'popularity_cache',
      }));
      topUpPage(items, req.regionIdx ?? 0, false, () => false);
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

  // Brownout (admission under load): the cheapest answer, with no dependency call at all.
  if (req.brownout === 'popularity') return servePopular('admission', 'RECLAB_ERR_OVERLOADED');
  // `lean`: fewer candidates, every source asked for proportionally fewer.
  const lean = req.brownout === 'lean';
  const candidatesMax = lean ? Math.min(cfg.candidatesMax, cfg.leanCandidatesMax) : cfg.candidatesMax;
  const kOf = (source: string) => {
    const k = cfg.retrievalK[source] ?? cfg.retrievalKDefault;
    return lean ? Math.max(1, Math.ceil((k * candidatesMax) / cfg.candidatesMax)) : k;
  };
  if (lean) ladder.degrade('partial_retrieval', 'retrieval', 'RECLAB_ERR_OVERLOADED');

  // 2. User context; the recent watches (for the already-watched filter) are read alongside.
  // One read serves both the already-watched filter and content retrieval's profile (ctx below).
  const recentRead: Promise<number[]> | undefined = deps.activity
    ? guarded(
        clock,
        breakers.activity,
        cfg.deadlines.userMs,
        { timeout: 'RECLAB_ERR_FEATURES_TIMEOUT', unavailable: 'RECLAB_ERR_FEATURES_UNAVAILABLE' },
        () => deps.activity!.recentWatches(req.userId, cfg.watchedFilterN),
        deps.faults,
      )
    : undefined;
  const watchedRead: Promise<ReadonlySet<number>> = recentRead
    ? recentRead.then(
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
    const featureCodes = {
      timeout: 'RECLAB_ERR_FEATURES_TIMEOUT',
      unavailable: 'RECLAB_ERR_FEATURES_UNAVAILABLE',
    } as const;
    const found = await guarded(
      clock,
      breakers.features,
      cfg.deadlines.userMs,
      featureCodes,
      () => deps.features.getUser(req.userId),
      deps.faults,
    );
    if (found) user = found;
    else {
      // No record: a new user only while the store holds a complete load (its loader's marker).
      // Without the marker the store lost its data (flushed, restarted empty) or is being loaded:
      // defaults would serve every user the same cold-start list as if nothing were wrong.
      const marker = await guarded(
        clock,
        breakers.features,
        cfg.deadlines.userMs,
        featureCodes,
        () => deps.features.loadMarker(),
        deps.faults,
      );
      if (marker === undefined) {
        lap('user');
        return servePopular('user_context', 'RECLAB_ERR_FEATURES_MISSING');
      }
      // A cold start, not a failure: defaults shaped by the request's context.
      user = defaultUserRecord(req.regionIdx ?? 0, req.deviceIdx ?? 0);
    }
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
      deps.faults,
    );
  } catch (err) {
    ladder.degrade('partial_retrieval', 'user_encoder', errorCode(err, 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE'));
  }
  const ctx: RetrievalContext = {
    userId: req.userId,
    user,
    userEmbedding,
    regionIdx,
    recentWatches: recentRead,
  };
  const settled = await Promise.allSettled(
    sources.map(async (s) => {
      // A source that needs the recent watches starts once they are read (a bounded wait: the read
      // has its own deadline); if the read failed, its rejection skips the source here, before its
      // breaker is asked (CandidateSource.needsRecentWatches).
      if (s.needsRecentWatches && recentRead) await recentRead;
      return guarded(
        clock,
        breakers.sources.get(s.name)!,
        cfg.deadlines.retrievalMs,
        { timeout: 'RECLAB_ERR_RETRIEVAL_TIMEOUT', unavailable: 'RECLAB_ERR_RETRIEVAL_UNAVAILABLE' },
        () => s.retrieve(ctx, kOf(s.name)),
        deps.faults,
      );
    }),
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
  const merged = mergeCandidates(lists, candidatesMax);
  lap('merge');
  if (merged.length === 0) return servePopular('retrieval', 'RECLAB_ERR_RETRIEVAL_EMPTY');

  // 5. Enrichment: one batched read for all candidates. A candidate is never ranked on a made-up
  //    record: without one it is dropped (the store answered: the video is unknown to it) or, when
  //    the read failed, every candidate goes on flagged in retrieval order (`default_features`).
  let candidates = merged;
  let records: (Float32Array | undefined)[];
  let unenriched = false;
  try {
    records = await guarded(
      clock,
      breakers.features,
      cfg.deadlines.enrichmentMs,
      { timeout: 'RECLAB_ERR_FEATURES_TIMEOUT', unavailable: 'RECLAB_ERR_FEATURES_UNAVAILABLE' },
      () => deps.features.getVideos(merged.map((c) => c.video)),
      deps.faults,
    );
    let missing = 0;
    for (let i = 0; i < merged.length; i++) if (!records[i]) missing++;
    if (missing > merged.length * MISSING_RECORDS_SHARE_MAX) {
      lap('enrichment');
      return servePopular('enrichment', 'RECLAB_ERR_FEATURES_MISSING');
    }
    if (missing > 0) {
      ladder.degrade('default_features', 'enrichment', 'RECLAB_ERR_FEATURES_MISSING');
      candidates = merged.filter((_, i) => records[i]);
      records = records.filter((r) => r);
    }
  } catch (err) {
    ladder.degrade('default_features', 'enrichment', errorCode(err, 'RECLAB_ERR_FEATURES_UNAVAILABLE'));
    records = [];
    unenriched = true;
  }
  const n = candidates.length;
  lap('enrichment');

  // 6. Ranking: one batched call; affinity from the in-memory item embeddings.
  const { dim } = models.items;
  // The fields re-ranking reads from each record, taken now, in the pass before rankerInput's over
  // the same records: by re-ranking, after the ranker's inference, the ~300 records (scattered on
  // the heap) are out of the cache again.
  const rerankFields = unenriched ? undefined : rerankFieldsOf(records as Float32Array[]);
  const affinity = new Float32Array(n);
  const emb = candidateEmbeddings(candidates, models.items, models.fresh, userEmbedding, affinity);
  const input = unenriched
    ? undefined
    : rankerInput(user, records as Float32Array[], affinity, clock.now() / 1000);
  // Without records there is nothing to rank on: merge order is the retrieval-score ranking.
  const ranking: RankingOutcome = !input
    ? {
        kept: Array.from({ length: n }, (_, i) => i),
        scores: Float64Array.from({ length: n }, (_, i) => 1 - i / n),
        by: 'retrieval',
        mainRows: 0,
        failures: [],
      }
    : await rankCandidates(
        clock,
        { main: models.ranker, light: models.lightRanker },
        { main: breakers.ranker, light: breakers.lightRanker },
        input,
        n,
        {
          deadlineMs: cfg.deadlines.rankingMs,
          cascadeTopN: cfg.cascadeTopN,
          weights: assigned.rankingWeights,
          skipMain: req.brownout === 'light' || lean,
        },
        deps.faults,
      );
  for (const f of ranking.failures) {
    // A failed cascade pre-scorer costs only CPU (the main ranker then scores every candidate).
    const to = f.stage === 'light_ranking' && ranking.by === 'main' ? 'full' : RUNG_OF_RANKING[ranking.by];
    ladder.degrade(to, f.stage, f.code);
  }
  if (input) {
    // The click head is the main ranker's only when it scored every row (no light tier, no cascade).
    const mainClick = ranking.by === 'main' && ranking.kept.length === n ? ranking.heads?.pClick : undefined;
    deps.drift?.observe(models, input, n, mainClick);
  }
  const kept = ranking.kept;
  const scores = ranking.scores;
  const ranked = ranking.mainRows;
  lap('ranking');

  // 7. Re-rank the kept candidates: filters, score adjustments, MMR with creator caps, exploration.
  const nowS = clock.now() / 1000;
  let keptRows = emb.rows;
  if (kept.length !== n) {
    keptRows = new Int32Array(kept.length);
    for (let j = 0; j < kept.length; j++) keptRows[j] = emb.rows[kept[j]];
  }
  const rerankCands: RerankCandidate[] = kept.map((r, j) => {
    if (!rerankFields) {
      // Flagged (the enrichment read failed): no creator to cap (each its own), never explorable.
      return {
        video: candidates[r].video,
        creator: -1 - r,
        score: Math.max(0, scores[j]),
        ageH: Number.POSITIVE_INFINITY,
        clickbait: 0,
        logViews: Number.POSITIVE_INFINITY,
      };
    }
    const at = RERANK_FIELDS * r;
    return {
      video: candidates[r].video,
      creator: rerankFields[at],
      score: Math.max(0, scores[j]),
      ageH: Math.max(0, (nowS - rerankFields[at + 1]) / 3600),
      // Seed 001's "high CTR, low watch time", from the heads that scored it (0 on merge order).
      clickbait: ranking.heads
        ? clickbaitEstimate(ranking.heads.pClick[j], ranking.heads.watchTimeS[j], rerankFields[at + 2])
        : 0,
      logViews: rerankFields[at + 3],
    };
  });
  const watched = await watchedRead;
  const blocked = deps.policy?.blocked ?? NO_BLOCKED;
  const page = rerank(
    rerankCands,
    emb.matrix,
    dim,
    { watched, blocked },
    { ...cfg.rerank, count: req.count, mmrLambda: cfg.mmrLambda },
    deps.exploration,
    keptRows,
  );
  const items: RecommendedItem[] = page.order.map((j) => ({
    video_id: videoIdOf(candidates[kept[j]].video),
    score: Math.round(scores[j] * 1e4) / 1e4,
    source: candidates[kept[j]].source,
  }));
  // Set afterwards rather than spread into each literal (a spread takes V8's generic object-copy
  // path for all 30 items); the property still comes last, as the JSON has it.
  for (const pos of page.explorationPositions) items[pos].exploration = true;
  // Filters, creator caps and dropped candidates can leave a page short: fill it from lower rungs.
  topUpPage(items, regionIdx, true, (v) => watched.has(v) || blocked.has(v));
  lap('reranking');
  return finish(items, merged.length, ranked);
}
